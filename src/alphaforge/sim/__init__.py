"""Vectorized simulation: the Numba kernel, cost models, the runner and its result."""
