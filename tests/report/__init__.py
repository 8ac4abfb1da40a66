"""Tests of ``imgloss.report``."""
