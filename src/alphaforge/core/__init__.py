"""Pure domain types: no I/O, no pandas, no Numba."""
