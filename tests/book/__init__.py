"""Tests of ``imgloss.book``."""
