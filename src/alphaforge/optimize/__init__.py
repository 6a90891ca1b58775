"""Parameter search: search spaces, grid/random/Optuna sweeps, walk-forward optimization.

Trials run in a local process pool (:mod:`~alphaforge.optimize.runner`) or on a Dask cluster
(:mod:`~alphaforge.optimize.dask_runner`, the only module that imports Dask). Results are
persisted as Parquet chunks under ``home/sweeps/<job id>`` as they arrive, so an interrupted
sweep resumes where it stopped.
"""

from __future__ import annotations
