"""Capacity: how many strain targets a disordered spring network can be tuned to meet."""
