"""Sweeps: a grid of overrides over scenes, run on Dask, with results that last.

spec (the sweep file and its runs), work (one run, on a worker), results (results.csv and the
histories), execute (the Dask client and the loop over finished runs), summary (table and plot).
"""
