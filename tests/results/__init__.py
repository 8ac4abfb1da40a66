"""Tests of ``imgloss.results``."""
