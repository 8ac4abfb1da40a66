"""Tests of ``imgloss.experiments``."""
