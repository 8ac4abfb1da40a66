"""Tests of ``imgloss.functional``."""
