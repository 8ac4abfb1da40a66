"""Tests of ``imgloss.core``."""
