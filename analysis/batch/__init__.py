"""Batch runs: many areas (counties, townships) at once on Dask, resumable (issue 14).

``python -m coverage batch`` reads the big inputs once, partitions them by area with a walking
buffer (:mod:`analysis.batch.partition`), runs every area as one Dask task
(:mod:`analysis.batch.task`, which calls the engine and the checks only through
:mod:`analysis.batch.area_job`), and merges the per-area rows (:mod:`analysis.batch.summary`).
"""
