"""Tests of ``imgloss.imaging``."""
