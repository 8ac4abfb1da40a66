"""Tests of ``imgloss.losses``."""
