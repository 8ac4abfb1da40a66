"""Tests of ``imgloss.training``."""
