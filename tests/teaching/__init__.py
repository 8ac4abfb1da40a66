"""Tests of ``imgloss.teaching``."""
