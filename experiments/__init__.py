"""Experiments run on the sandbox (capacity)."""
