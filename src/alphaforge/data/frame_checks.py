"""The values of bars handed over in memory (a DataFrame, a mapping of frames, a wide frame):
the importer's checks (:mod:`alphaforge.data.ingest_checks`) on the panel they became.

A file's rows are checked as they are read; a frame given to :func:`alphaforge.backtest` (or
``sweep``, ``walkforward``, ``bars``) skips the importer, so without these checks a zero or
negative close, an infinite price or a bar with its open missing went into the run, which
exited 0 with numbers built on them. Refused, with the bar named, as a file's row is:

- a price that is not positive, not finite, or above :data:`MAX_PRICE`;
- a volume that is negative or not finite (a missing volume is allowed: the field is optional);
- a bar with some of its prices missing (NaN in all four is a missing bar, which wide and
  aligned frames have where a symbol does not trade).

Noted, and used as they are (the run's warnings), as the importer notes them: bars whose high
is below their low or whose open or close is outside their range, and bad ticks (the
``spikes`` check of :mod:`alphaforge.data.quality`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphaforge.core.errors import DataError
from alphaforge.core.panel import Panel, short_time
from alphaforge.data.ingest_checks import MAX_PRICE, broken_bars, value_faults

__all__ = ["check_bar_values"]

_PRICES = ("open", "high", "low", "close")


def check_bar_values(panel: Panel, source: str = "data") -> list[str]:
    """Refuse the values the importer refuses (see the module docstring) and return the notes
    of what it keeps as it is (broken bars, bad ticks), each naming the symbol and the bar.
    The rules are the importer's (:func:`~alphaforge.data.ingest_checks.value_faults`,
    :func:`~alphaforge.data.ingest_checks.broken_bars`); clean bars cost two reductions a
    field.

    Raises
    ------
    DataError
        ``<source>: <symbol> <bar>, column '<field>': <what> (<value>)``.
    """
    o, h, lo, c = (getattr(panel, f) for f in _PRICES)
    _refuse_missing(panel, source, o, h, lo, c)
    close_only = bool(panel.meta.get("close_only"))  # (its open, high and low are the close)
    fields = [("close", c)] if close_only else list(zip(_PRICES, (o, h, lo, c), strict=True))
    for name, a in [*fields, ("volume", panel.volume)]:
        if not _within(a, name):
            for bad, what in value_faults(a, name):
                if bad.any():
                    _refuse(panel, source, bad, name, what)
    notes = [] if close_only else _broken_notes(panel, o, h, lo, c)
    return notes + _spike_notes(panel)


def _within(a: np.ndarray, name: str) -> bool:
    """Whether every number of ``a`` (NaN aside) keeps the rules of column ``name``: two
    reductions, no temporary array (the masks are built only when one does not)."""
    if not a.size:
        return True
    mn, mx = float(np.fmin.reduce(a, axis=None)), float(np.fmax.reduce(a, axis=None))
    if mn != mn:  # all NaN
        return True
    if name == "volume":
        return mn >= 0.0 and mx < np.inf
    return mn > 0.0 and mx <= MAX_PRICE


def _refuse_missing(
    panel: Panel, source: str, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray
) -> None:
    """Refuse a bar with some of its prices missing (all four missing: a missing bar)."""
    total = o + h + lo + c  # NaN where any is
    some = np.isnan(total)
    if not some.any():
        return
    missing = [np.isnan(a) for a in (o, h, lo, c)]
    partial = some & ~(missing[0] & missing[1] & missing[2] & missing[3])
    if partial.any():
        k = int(np.argmax([m[partial].any() for m in missing]))
        _refuse(panel, source, missing[k] & partial, _PRICES[k], "missing value")


def _where(panel: Panel, mask: np.ndarray) -> tuple[str, str, int, int]:
    """(symbol, bar text, row, column) of the first True of ``mask`` in time order."""
    i, j = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return panel.symbols[int(j)], short_time(panel.index[int(i)]), int(i), int(j)


def _refuse(panel: Panel, source: str, mask: np.ndarray, column: str, what: str) -> None:
    sym, bar, i, j = _where(panel, mask)
    value = float(getattr(panel, column)[i, j])
    count = int(mask.sum())
    more = f"; {count} such bar(s)" if count > 1 else ""
    raise DataError(f"{source}: {sym} {bar}, column {column!r}: {what} ({value!r}){more}")


def _broken_notes(
    panel: Panel, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray
) -> list[str]:
    """Bars whose high is below their low, or whose open or close lies outside high-low."""
    notes = []
    for bad, what in broken_bars(o, h, lo, c):
        if bad.any():
            sym, bar, i, j = _where(panel, bad)
            notes.append(f"{sym} {bar}: {what} (high {h[i, j]:g}, low {lo[i, j]:g}); "
                         f"{int(bad.sum())} such bar(s), used as they are")  # fmt: skip
    return notes


def _spike_notes(panel: Panel) -> list[str]:
    """Bad ticks of the closes (the ``spikes`` check), for the symbols whose closes have a
    spike's shape (one numpy pass over the panel; the check itself only on those)."""
    from alphaforge.data.quality import SPIKE_MOVE, spike_notes, spike_shape

    far = float(np.exp(SPIKE_MOVE)) * (1.0 - 1e-9)  # a sieve: the log test below decides
    c = panel.close
    if c.shape[0] < 3:
        return []
    with np.errstate(divide="ignore", invalid="ignore"):
        q = c[1:] / c[:-1]  # NaN across a missing bar: its neighbours are not compared
        jump = (q >= far) | (q <= 1.0 / far)
        cand = np.flatnonzero((jump[:-1] & jump[1:]).any(axis=0))  # far both ways
        if not len(cand):
            return []
        r = np.log(q[:, cand])
    suspect = cand[spike_shape(r[:-1], r[1:]).any(axis=0)]
    if not len(suspect):
        return []
    cols = suspect.tolist()
    parts = []
    for j in cols:
        keep = ~np.isnan(c[:, j])
        parts.append(pd.DataFrame({"symbol": panel.symbols[j], "timestamp": panel.index[keep],
                                   "close": c[keep, j]}))  # fmt: skip
    return [f"{line}, used as it is" for _sym, line in spike_notes(pd.concat(parts))]
