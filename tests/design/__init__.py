"""Tests of ``imgloss.design``."""
