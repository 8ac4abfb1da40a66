"""Tests of ``imgloss.data``."""
