"""Typed state of the simulation: structured dtypes with named fields and named tuples of arrays.

Everything the compiled loop reads or changes has a name here, so that a kernel function takes a
handful of structures instead of dozens of same-typed arrays (a swapped ``high``/``low`` no
longer compiles silently):

* :data:`SETTINGS` — one record of every rule setting (costs, sizing, exits, risk limits), with
  enums as integers and flags as booleans. The same record drives the vectorized engine and,
  called from plain Python, the rule functions of :mod:`alphaforge.sim.kernels_rules`.
* :class:`Market` — the bars and what is derived from them (ATR, volatility, sectors, day and
  week ids); :class:`Intents` — the strategy's signals or target weights and order settings,
  with their protective levels (:class:`Levels`);
  :class:`Fine` — finer bars for the intrabar ambiguity policy.
* :class:`Book` — the mutable account: cash and loop state (:data:`ACCOUNT`), the risk state
  (:data:`RISK`), one :data:`POSITION` and one :data:`PENDING` row per symbol, last prices and
  scratch space.
* :class:`Records` — the trade, order and risk-event records (:data:`TRADE`, :data:`ORDER`,
  :data:`EVENT`) and their :data:`COUNTERS`; :class:`Series` — the per-bar outputs.

The dtypes are aligned C structs; the named tuples are plain :func:`collections.namedtuple`
classes, which Numba compiles as typed tuples (no lookup by name at run time).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any, TypeAlias

import numpy as np

SettingsRecord: TypeAlias = Any
"""One row of :data:`SETTINGS` (a numpy record: fields by name, e.g. ``s.comm_pct``)."""

SETTINGS = np.dtype(
    [
        ("init_cash", "f8"),
        ("fill_close", "?"),  # fill at the signal bar's close (optimistic); else next open
        ("allow_long", "?"),
        ("allow_short", "?"),
        ("weights_mode", "?"),  # target weights (rebalancing) instead of entry/exit signals
        ("comm_pct", "f8"),  # commission, fraction of order value
        ("comm_share", "f8"),  # commission per share ...
        ("comm_min", "f8"),  # ... at least this much per order ...
        ("comm_max_pct", "f8"),  # ... and at most this fraction of order value (0 = no cap)
        ("comm_fixed", "f8"),  # per order
        ("slip_bps", "f8"),  # fixed slippage, fraction of price
        ("spread", "f8"),  # full bid-ask spread, fraction of price (half paid per fill)
        ("slip_atr", "f8"),  # slippage as a multiple of ATR per share
        ("slip_cap", "f8"),  # most slippage per share with the ATR part, fraction of price
        ("participation", "f8"),  # max fraction of bar volume per fill (0 = no cap)
        ("borrow", "f8"),  # annual short borrow fee
        ("margin", "f8"),  # margin requirement on shorts (1.5 = Reg T)
        ("cash_rate", "f8"),  # annual rate earned on cash (paid when negative)
        ("ppy", "f8"),  # periods per year (borrow and interest accrual)
        ("sizing", "i8"),  # SIZE_* code
        ("size_value", "f8"),
        ("fractional", "?"),
        ("kelly_lookback", "i8"),
        ("kelly_min", "i8"),
        ("kelly_fallback", "f8"),
        ("stop_on_entry", "?"),
        ("ambiguity", "i8"),  # AMB_* code
        ("max_bars", "i8"),  # time exit (0 = none)
        ("max_positions", "i8"),  # 0 = unlimited
        ("max_weight", "f8"),  # 0 = unlimited
        ("sector_cap", "f8"),  # 0 = unlimited
        ("min_cash", "f8"),  # cash reserve, fraction of equity
        ("max_gross", "f8"),  # 0 = unlimited (buying power is then 1x equity)
        ("max_net", "f8"),  # 0 = unlimited
        ("trade_max_loss", "f8"),  # fraction of equity at entry (0 = none)
        ("daily_loss", "f8"),
        ("daily_bars", "?"),  # a bar per day or longer: a daily loss limit blocks the next bar
        ("weekly_loss", "f8"),
        ("max_dd", "f8"),
        ("dd_flatten", "?"),  # the drawdown breaker flattens ...
        ("dd_halt", "?"),  # ... and / or halts new entries for good
        ("drift_band", "f8"),
        ("tif_gtc", "?"),  # limit / stop entries rest until filled (else one bar)
        ("record", "?"),  # keep per-bar positions
        ("equity_only", "?"),  # of the per-bar series keep equity only (batch runs)
        ("fast_paths", "?"),  # allow the quiet-stretch and one-symbol shortcuts
    ],
    align=True,
)

POSITION = np.dtype(
    [
        ("qty", "f8"),  # signed
        ("entry_px", "f8"),  # average entry price
        ("entry_bar", "i8"),
        ("fees", "f8"),  # entry fees not yet assigned to a trade
        ("slip", "f8"),  # entry slippage not yet assigned to a trade
        ("sl", "f8"),  # stop-loss price (NaN = none)
        ("tp", "f8"),  # take-profit price
        ("trail_dist", "f8"),  # trailing distance, absolute
        ("trail_pct", "f8"),  # trailing distance, fraction of the peak / trough
        ("peak", "f8"),  # highest high / lowest low since entry (MAE, MFE, trailing)
        ("trough", "f8"),
        ("maxloss", "f8"),  # price of the per-trade max-loss exit
        ("fill_bar", "i8"),  # bar of the last fill (-1 = none)
        ("ambiguous", "?"),  # an ambiguous bar was resolved while open
    ],
    align=True,
)

PENDING = np.dtype(
    [
        ("exit", "?"),  # a market exit is pending
        ("exit_reason", "i8"),
        ("entry", "f8"),  # +1 long, -1 short, 0 none
        ("sig_bar", "i8"),  # bar whose signal created the entry
        ("limit", "f8"),  # NaN = none
        ("stop", "f8"),  # NaN = none
        ("left", "f8"),  # quantity still to fill of a partial fill (0 = size at fill)
    ],
    align=True,
)

ACCOUNT = np.dtype(
    [
        ("cash", "f8"),
        ("eq_prev", "f8"),  # equity at the previous close
        ("pend_rebal", "i8"),  # bar whose target weights wait for the next fill (-1 = none)
        ("r_cash", "f8"),  # interest on cash per bar
        ("r_borrow", "f8"),  # borrow fee per bar, fraction of short value
    ],
    align=True,
)

RISK = np.dtype(
    [
        ("day_start_eq", "f8"),
        ("week_start_eq", "f8"),
        ("peak_eq", "f8"),
        ("blocked_day", "i8"),  # day id on which the daily loss limit fired (-1 = none)
        ("blocked_week", "i8"),
        ("halted", "?"),  # drawdown breaker halted new entries
        ("dd_armed", "?"),  # breaker re-armed by a new equity peak
    ],
    align=True,
)

COUNTERS = np.dtype(
    [
        ("trades", "i8"),
        ("orders", "i8"),
        ("events", "i8"),
        ("ambiguous", "i8"),  # bars in which both stop and target were reachable
        ("overflow", "?"),  # a record buffer was full: the run is repeated with more room
    ],
    align=True,
)

TRADE = np.dtype(
    [
        ("symbol", "i8"),
        ("direction", "i8"),  # +1 long, -1 short
        ("entry_bar", "i8"),
        ("exit_bar", "i8"),
        ("entry_price", "f8"),
        ("exit_price", "f8"),
        ("qty", "f8"),
        ("fees", "f8"),
        ("slippage", "f8"),
        ("pnl", "f8"),
        ("ret", "f8"),  # pnl / (qty * entry price)
        ("mae", "f8"),
        ("mfe", "f8"),
        ("bars_held", "i8"),
        ("exit_reason", "i8"),  # EXIT_* code
        ("ambiguous", "?"),
    ],
    align=True,
)

ORDER = np.dtype(
    [
        ("bar", "i8"),
        ("symbol", "i8"),
        ("side", "i8"),  # +1 buy, -1 sell
        ("qty", "f8"),  # filled quantity
        ("price", "f8"),
        ("fee", "f8"),
        ("status", "i8"),  # STATUS_* code
        ("reason", "i8"),  # EXIT_* or REASON_* code
        ("requested", "f8"),
    ],
    align=True,
)

EVENT = np.dtype(
    [
        ("bar", "i8"),
        ("rule", "i8"),  # RULE_* code
        ("symbol", "i8"),  # -1 = the whole account
        ("value", "f8"),
    ],
    align=True,
)

Market = namedtuple(
    "Market", ["open", "high", "low", "close", "volume", "atr", "vol", "sector", "day", "week"]
)
Market.__doc__ = """Bars (bars x symbols) and what is derived from them.

``atr``/``vol`` are (bars x symbols) or (1, 1) NaN when unused; ``sector`` holds one integer per
symbol; ``day``/``week`` the trading-day and week number of each bar."""

Intents = namedtuple(
    "Intents",
    [
        "entries",
        "exits",
        "short_entries",
        "short_exits",
        "weights",
        "rebalance",
        "levels",
        "limit",
        "stop",
        "priority",
    ],
)
Intents.__doc__ = """What the strategy asks for, read at the signal bar.

Masks and prices are (bars x symbols) or (1, 1) broadcast; ``rebalance`` is one flag per bar;
``levels`` the protective-exit settings, a :class:`Levels`."""

Levels = namedtuple(
    "Levels",
    ["sl_pct", "sl_abs", "sl_price", "tp_pct", "tp_abs", "tp_price", "trail_pct", "trail_abs"],
)
Levels.__doc__ = """Protective-exit settings of a new position, read at its signal bar: stop
loss, take profit and trailing stop as a fraction of the entry price (``*_pct``), a distance from
it (``*_abs``) or a price (``*_price``). Each is a (bars x symbols) float array or a (1, 1) one
that every bar and symbol reads (NaN: not set), so a setting of the config costs one number and
a strategy's price array is used as it is. Read in the kernels only through
:func:`~alphaforge.sim.kernels_entry.levels_at_nb`."""

Fine = namedtuple("Fine", ["start", "end", "high", "low"])
Fine.__doc__ = """Finer bars for ``ambiguity="finer_bars"``: flattened highs and lows and, per
(bar, symbol), the offsets ``[start, end)`` of its finer bars (-1 where there are none)."""

Book = namedtuple("Book", ["account", "risk", "pos", "pend", "last_px", "cand", "fscr", "q0"])
Book.__doc__ = """The mutable account: :data:`ACCOUNT` and :data:`RISK` (one row each), one
:data:`POSITION` and :data:`PENDING` row per symbol, the last price of each symbol, and scratch
space: ``cand`` (symbol indices in fill order), ``fscr`` ((2, symbols) floats: rebalance deltas
and priorities) and ``q0`` (quantities before the intrabar entries)."""

Records = namedtuple("Records", ["trades", "orders", "events", "cnt"])
Records.__doc__ = """Record buffers (:data:`TRADE`, :data:`ORDER`, :data:`EVENT`) and one row of
:data:`COUNTERS`."""

SignalStack = namedtuple("SignalStack", ["entries", "exits", "short_entries", "short_exits"])
SignalStack.__doc__ = """The entry / exit masks of many trials, ``(K, bars, symbols)`` (or ``(K,
symbols, bars)`` for per-symbol batches); short masks ``(1, 1, 1)`` when unused."""

Series = namedtuple("Series", ["equity", "cash", "gross", "net", "positions"])
Series.__doc__ = """Per-bar outputs; ``cash``/``gross``/``net`` have length 1 and ``positions``
shape (1, 1) when not kept."""


def settings_record() -> np.void:
    """A zeroed :data:`SETTINGS` record (the caller fills in every field)."""
    return np.zeros(1, dtype=SETTINGS)[0]


def to_rows(records: np.ndarray) -> list[list[float]]:
    """Records as lists of numbers in field order (the ``raw`` part of a JSON result)."""
    return [[float(x) for x in row] for row in records.tolist()]


def from_rows(rows: list[list[float]], dtype: np.dtype) -> np.ndarray:
    """Record array of ``dtype`` from :func:`to_rows` output."""
    out = np.zeros(len(rows), dtype=dtype)
    if rows:
        table = np.asarray(rows, dtype=float).reshape(len(rows), -1)
        if table.shape[1] != len(dtype.names or ()):
            raise ValueError(
                f"records have {table.shape[1]} fields, expected {len(dtype.names or ())}"
            )
        for k, name in enumerate(dtype.names or ()):
            out[name] = table[:, k]
    return out
