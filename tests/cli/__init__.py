"""Tests of ``imgloss.cli``."""
