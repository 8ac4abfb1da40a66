"""Tests of ``imgloss.metrics``."""
