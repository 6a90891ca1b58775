"""Pure domain types: no I/O and no Numba, and no import of any other alphaforge package.

numpy and pandas are allowed: the containers every layer shares are arrays on a time index.

* :mod:`~alphaforge.core.errors`: the error hierarchy.
* :mod:`~alphaforge.core.timeframe`: bar intervals (parsing, detection).
* :mod:`~alphaforge.core.calendar`: the :class:`~alphaforge.core.calendar.Calendar` value and the
  one table of calendar names (time zone, sessions or continuous, bars per year, day/week ids).
* :mod:`~alphaforge.core.panel`: the aligned (time x symbol) OHLCV
  :class:`~alphaforge.core.panel.Panel`.
"""
