"""Benchmarks of alphaforge against vectorbt, backtesting.py and backtrader (``make bench``)."""
