"""Imports on each channel's schedule."""
