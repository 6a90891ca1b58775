"""The values the stepper and the trading node pass each other (a bar's prices and signals,
the orders an open plans, a replay's compiled stretch, the protection table, the record counts,
the exact JSON form of the state's arrays for restart snapshots), and the stepper's row
buffers with their stride-0 views along time (:class:`RowBuffers`)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from alphaforge.sim.records import Book, Intents, Levels, Market, Series

__all__ = [
    "BarRow",
    "OpenPlan",
    "PlannedOrder",
    "Protections",
    "RecordCounts",
    "RestingOrder",
    "RowBuffers",
    "SignalRow",
    "Stretch",
    "decode_array",
    "encode_array",
]  # fmt: skip


@dataclass(frozen=True)
class BarRow:
    """One bar of every symbol (NaN where a symbol has none), float64 arrays of length n."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


@dataclass(frozen=True)
class SignalRow:
    """The strategy's output at one bar, per symbol: masks or a target weight, protective levels
    (8 x n, the fields of :class:`~alphaforge.sim.records.Levels`), priority, ATR and
    volatility known at that bar."""

    entries: np.ndarray
    exits: np.ndarray
    short_entries: np.ndarray
    short_exits: np.ndarray
    weights: np.ndarray
    rebalance: bool
    levels: np.ndarray
    priority: np.ndarray
    atr: np.ndarray
    vol: np.ndarray
    score: np.ndarray | None = None  # the strategy's score behind its masks (recorded only)
    limit: np.ndarray | None = None  # entry limit prices (NaN: none; None: market entries)
    stop: np.ndarray | None = None  # entry stop prices


@dataclass(frozen=True)
class PlannedOrder:
    """An order the open phase executes on the scratch book: what the runtime sends."""

    symbol: int
    delta: float  # signed quantity
    reason: int  # EXIT_* or REASON_ENTRY
    price: float  # expected fill price (slippage included)


@dataclass(frozen=True)
class RestingOrder:
    """A limit / stop / stop-limit entry of an open: the quantity the intrabar entry step
    gives it if it triggers in this bar, the price it then fills at (slippage included) and
    its levels (NaN: none)."""

    symbol: int
    delta: float  # signed quantity
    price: float
    limit: float
    stop: float


@dataclass
class OpenPlan:
    """The orders of one open, the entries refused (symbol, side, reason code), and the
    protective levels each planned new position got on the scratch book. ``resting`` are the
    limit / stop entries to hold at the venue for this bar; ``refused`` the ones a rule
    refuses if they trigger (symbol -> side, reason, requested), recorded only then, as the
    backtest records them; ``after_open`` the scratch book as the open phase left it."""

    orders: list[PlannedOrder] = field(default_factory=list)
    rejected: list[tuple[int, float, int]] = field(default_factory=list)
    levels: np.ndarray | None = None  # POSITION rows of the scratch book after the open
    resting: list[RestingOrder] = field(default_factory=list)
    refused: dict[int, tuple[float, int, float]] = field(default_factory=dict)
    after_open: Book | None = None


@dataclass(frozen=True)
class Stretch:
    """Every bar of a replay as the compiled phases read them (``market``, ``intents``) and the
    per-bar outputs of quiet stretches (``out``: equity, cash, gross and net by bar)."""

    market: Market
    intents: Intents
    out: Series


class RecordCounts(NamedTuple):
    """Records a stepper made since its start (or restore), dropped ones included."""

    trades: int
    orders: int
    rejected: int  # orders refused by a rule (STATUS_REJECTED)
    events: int


class Protections(NamedTuple):
    """Per position: quantity, stop level, the stop's exit reason (-1: none) and take-profit
    (NaN levels where none)."""

    qty: list[float]
    stop: list[float]
    reason: list[int]
    target: list[float]


def encode_array(a: np.ndarray) -> dict[str, Any]:
    """A numpy array (structured dtypes too) as JSON-safe text, exactly (raw bytes)."""
    a = np.ascontiguousarray(a)
    return {
        "dtype": a.dtype.descr if a.dtype.names else a.dtype.str,
        "shape": list(a.shape),
        "data": base64.b64encode(a.tobytes()).decode("ascii"),
    }


def decode_array(d: dict[str, Any], dtype: np.dtype) -> np.ndarray:
    """The array of :func:`encode_array`, read as ``dtype`` (the layout it was written with)."""
    raw = base64.b64decode(d["data"])
    return np.frombuffer(raw, dtype=dtype).reshape(d["shape"]).copy()


_BIG = 1 << 40  # length of the views along time: larger than any bar index


def along(row: np.ndarray, n_bars: int) -> np.ndarray:
    """A (n_bars, n) read-only view whose every row is ``row``."""
    row = np.ascontiguousarray(row)
    return as_strided(row, shape=(n_bars, row.shape[0]), strides=(0, row.strides[0]))


def _along_scalar(value: np.ndarray, n_bars: int) -> np.ndarray:
    return as_strided(value, shape=(n_bars,), strides=(0,))


def _along_levels(levels: np.ndarray, n_bars: int) -> Levels:
    """:class:`Levels` whose every bar reads the rows of ``levels`` (8 x n, a buffer)."""
    return Levels(*(along(row, n_bars) for row in levels))


class RowBuffers:
    """The current bar's rows behind the stepper's views: the compiled phases index their inputs
    by bar, and every bar of these views reads the current row (stride 0 along time)."""

    n: int
    sectors: np.ndarray
    _nan_row: np.ndarray
    _eq: np.ndarray  # the close phase's outputs (one value each, and a positions row)
    _cash: np.ndarray
    _gross: np.ndarray
    _net: np.ndarray
    _posrow: np.ndarray

    # ---- views ---------------------------------------------------------------------------
    def _views(self) -> None:
        """Row buffers and, once, their stride-0 views along time (any bar reads the row)."""
        n = self.n
        f8 = {k: np.full(n, np.nan) for k in ("open", "high", "low", "close", "volume", "atr",
                                                "vol", "weights", "priority", "nan", "limit",
                                                "stop")}  # fmt: skip
        b1 = {k: np.zeros(n, dtype=bool) for k in ("entries", "exits", "se", "sx")}
        self._buf = {**f8, **b1}
        self._lv = np.full((8, n), np.nan)
        self._day = np.zeros(1, dtype=np.int64)
        self._week = np.zeros(1, dtype=np.int64)
        self._rebal = np.zeros(1, dtype=bool)
        big = _BIG
        v = {k: along(a, big) for k, a in self._buf.items()}
        self._mk = Market(
            v["open"], v["high"], v["low"], v["close"], v["volume"], v["atr"], v["vol"],
            self.sectors, _along_scalar(self._day, big), _along_scalar(self._week, big),
        )  # fmt: skip
        self._it = Intents(
            v["entries"], v["exits"], v["se"], v["sx"], v["weights"],
            _along_scalar(self._rebal, big), _along_levels(self._lv, big), v["limit"], v["stop"],
            v["priority"],
        )  # fmt: skip
        self._out = Series(
            _along_scalar(self._eq, big), _along_scalar(self._cash, big),
            _along_scalar(self._gross, big), _along_scalar(self._net, big), self._posrow,
        )  # fmt: skip

    def _load(self, px: BarRow, sig: SignalRow | None, day: int, week: int) -> None:
        """Copy the current bar and signal row into the buffers behind the views."""
        b = self._buf
        b["open"][:] = px.open
        b["high"][:] = px.high
        b["low"][:] = px.low
        b["close"][:] = px.close
        b["volume"][:] = px.volume
        self._day[0] = day
        self._week[0] = week
        if sig is None:
            for k in ("entries", "exits", "se", "sx"):
                b[k][:] = False
            for k in ("atr", "vol", "weights"):
                b[k][:] = np.nan
            b["priority"][:] = 0.0
            b["limit"][:] = np.nan
            b["stop"][:] = np.nan
            self._lv[:] = np.nan
            self._rebal[0] = False
            return
        b["entries"][:] = sig.entries
        b["exits"][:] = sig.exits
        b["se"][:] = sig.short_entries
        b["sx"][:] = sig.short_exits
        b["atr"][:] = sig.atr
        b["vol"][:] = sig.vol
        b["weights"][:] = sig.weights
        b["priority"][:] = sig.priority
        self._lv[:] = sig.levels
        self._rebal[0] = sig.rebalance
        b["limit"][:] = np.nan if sig.limit is None else sig.limit
        b["stop"][:] = np.nan if sig.stop is None else sig.stop
