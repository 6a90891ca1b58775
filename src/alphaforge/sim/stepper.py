"""The simulation's bar phases, one bar at a time, for the event-driven runtime.

The runtime must decide, size, cost and risk-check exactly as the vectorized engine does. It
therefore does not re-implement the phases of :mod:`alphaforge.sim.kernels_phases`: it calls
the same compiled functions on the same typed state (:class:`~alphaforge.sim.records.Book`,
:class:`~alphaforge.sim.records.Records`), one bar at a time:

* at the **open** of bar ``t``, :func:`open_phase_nb` runs on a scratch copy of the book, with
  the fills it would make assumed complete: the orders it executes there are the orders the
  runtime sends (exits, then a pending rebalance, then entries in priority order, each sized
  and capped by the rules of :mod:`alphaforge.sim.kernels_rules`), and the orders it rejects
  are recorded with their reasons;
* a venue then fills what it can, and each fill is booked with :func:`book_fill_nb`, the
  function the vectorized engine books its own fills with; a new position gets its protective
  levels from :func:`_set_levels_nb`;
* at the **close**, :func:`close_phase_nb` marks the book, evaluates the loss limits and turns
  the strategy's signals of this bar into pending orders for the next open.

The compiled functions index their inputs by bar. The runtime holds only the current bar, so
its rows are passed as read-only views whose every bar is that row (stride 0 along time): the
function reads "bar ``t``" and gets the current bar, with ``t`` the runtime's own bar counter.

**Records.** The phases append trade, order and risk-event records to buffers of the
vectorized engine's layout (:data:`~alphaforge.sim.records.TRADE`, ``ORDER``, ``EVENT``). The
runtime's record is its ledger, so the stepper keeps only what is read again and a long run's
memory stays flat: when a buffer fills up, the records no rule reads are dropped from its front
(every order; every trade but the last ``kelly_lookback`` under Kelly sizing, the one rule that
looks back on trades; the risk events already handed out by :meth:`Stepper.events_after`), and
the buffer grows only when what is kept needs it. :meth:`Stepper.counts` gives the numbers of
records since the start, :meth:`Stepper.keep_records` keeps every record (tests comparing a run
with its backtest).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from alphaforge.sim import codes as C
from alphaforge.sim.kernels import _new_book_nb
from alphaforge.sim.kernels_entry import resting_entries_nb, resting_triggers_nb
from alphaforge.sim.kernels_exec import add_event_nb, add_order_nb, book_fill_nb
from alphaforge.sim.kernels_phases import (
    close_phase_nb,
    open_phase_nb,
    pair_touch_nb,
    protection_table_nb,
)
from alphaforge.sim.kernels_replay import quiet_stretch_nb
from alphaforge.sim.kernels_rules import new_period_nb, stop_level_nb
from alphaforge.sim.records import (
    COUNTERS,
    EVENT,
    ORDER,
    TRADE,
    Book,
    Intents,
    Levels,
    Market,
    Records,
    Series,
)


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


_LEVELS = ("sl", "tp", "trail_dist", "trail_pct", "maxloss")
# rows of Stepper._pcols: a pending limit / stop entry's signal-bar inputs, per symbol
_P_LEVELS, _P_ATR, _P_VOL, _P_PRIORITY = slice(0, 8), 8, 9, 10


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


_BIG = 1 << 40  # length of the views along time: larger than any bar index


def _along(row: np.ndarray, n_bars: int) -> np.ndarray:
    """A (n_bars, n) read-only view whose every row is ``row``."""
    row = np.ascontiguousarray(row)
    return as_strided(row, shape=(n_bars, row.shape[0]), strides=(0, row.strides[0]))


def _along_scalar(value: np.ndarray, n_bars: int) -> np.ndarray:
    return as_strided(value, shape=(n_bars,), strides=(0,))


def _along_levels(levels: np.ndarray, n_bars: int) -> Levels:
    """:class:`Levels` whose every bar reads the rows of ``levels`` (8 x n, a buffer)."""
    return Levels(*(_along(row, n_bars) for row in levels))


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


def _new_records(cap: int) -> Records:
    return Records(
        np.empty(cap, dtype=TRADE),
        np.empty(cap, dtype=ORDER),
        np.empty(cap, dtype=EVENT),
        np.zeros(1, dtype=COUNTERS),
    )


_KINDS = ("trades", "orders", "events")  # the record buffers of Records, in its order


class RecordCounts(NamedTuple):
    """Records a stepper made since its start (or restore), dropped ones included."""

    trades: int
    orders: int
    rejected: int  # orders refused by a rule (STATUS_REJECTED)
    events: int


def _copy_book(bk: Book) -> Book:
    return Book(*(a.copy() for a in bk))


class Stepper:
    """One strategy's account on the vectorized engine's state, advanced bar by bar.

    ``settings`` is the :data:`~alphaforge.sim.records.SETTINGS` record of the run (from
    :func:`~alphaforge.sim.settings.settings_from_config`); ``sectors`` one id per symbol."""

    def __init__(self, symbols: tuple[str, ...], settings: np.void, sectors: np.ndarray) -> None:
        row = np.array([settings])
        row[0]["record"] = False
        row[0]["equity_only"] = False
        self.s = row[0]
        self.symbols = symbols
        self.n = len(symbols)
        self.sectors = np.ascontiguousarray(sectors, dtype=np.int64)
        self.book: Book = _new_book_nb(self.n, self.s)
        self.rec: Records = _new_records(256 + 8 * self.n)
        self._archive: dict[str, list[np.ndarray]] | None = None  # see keep_records
        self._forget_records()
        self._eq = np.zeros(1)
        self._cash = np.zeros(1)
        self._gross = np.zeros(1)
        self._net = np.zeros(1)
        self._posrow = np.zeros((1, self.n))
        self._nan_row = np.full(self.n, np.nan)
        self._inf_row = np.full(self.n, np.inf)
        self._views()
        # the signal bar's levels, ATR, volatility and priority of each pending limit / stop
        # entry (sizing reads them at its signal bar, which a gtc entry may have left behind)
        self._pcols = np.full((11, self.n), np.nan)
        self.expired: set[int] = set()  # symbols whose day entry the last close expired
        self.risk_on = bool(
            self.s["daily_loss"] > 0 or self.s["weekly_loss"] > 0 or self.s["max_dd"] > 0
        )

    # ---- state ---------------------------------------------------------------------------
    @property
    def cash(self) -> float:
        return float(self.book.account[0]["cash"])

    @property
    def equity(self) -> float:
        """Equity at the last close."""
        return float(self.book.account[0]["eq_prev"])

    def qty(self, j: int) -> float:
        return float(self.book.pos[j]["qty"])

    def _forget_records(self) -> None:
        """Start the record counts again (a new book or a restore)."""
        self._dropped = dict.fromkeys((*_KINDS, "rejected"), 0)  # records dropped, by kind
        self._events_read = 0  # risk events handed out by events_after (a count of the run)
        if self._archive is not None:
            self._archive = {k: [] for k in _KINDS}

    @property
    def _kelly_keep(self) -> int:
        """The trades a rule reads again: Kelly sizing's lookback (none for other sizing)."""
        return int(self.s["kelly_lookback"]) if self.s["sizing"] == C.SIZE_KELLY else 0

    def _room(self) -> None:
        """Keep room for one more bar in the record buffers (they are never grown inside): a
        full buffer first drops what is not read again (:meth:`_drop`), and grows only when
        what it keeps needs the room."""
        c = self.rec.cnt[0]
        need = 4 * self.n + 16
        if all(int(c[k]) + need <= getattr(self.rec, k).shape[0] for k in _KINDS):
            return
        self._drop()
        bufs = []
        for k in _KINDS:
            buf, used = getattr(self.rec, k), int(c[k])
            if used + need > buf.shape[0]:
                bigger = np.empty(2 * buf.shape[0] + need, dtype=buf.dtype)
                bigger[:used] = buf[:used]
                buf = bigger
            bufs.append(buf)
        if any(b is not getattr(self.rec, k) for b, k in zip(bufs, _KINDS, strict=True)):
            self.rec = Records(bufs[0], bufs[1], bufs[2], self.rec.cnt)

    def _drop(self) -> None:
        """Drop from the front of the record buffers the records no rule and no reader needs
        again (see the module docstring); they are counted, and archived after
        :meth:`keep_records`."""
        c = self.rec.cnt[0]
        dropped = {
            "trades": max(int(c["trades"]) - self._kelly_keep, 0),
            "orders": int(c["orders"]),
            "events": min(self._events_read - self._dropped["events"], int(c["events"])),
        }
        for k, d in dropped.items():
            if d <= 0:
                continue
            buf, used = getattr(self.rec, k), int(c[k])
            gone = buf[:d]
            if k == "orders":
                self._dropped["rejected"] += int(np.sum(gone["status"] == C.STATUS_REJECTED))
            if self._archive is not None:
                self._archive[k].append(gone.copy())
            buf[: used - d] = buf[d:used].copy()
            c[k] = used - d
            self._dropped[k] += d

    def keep_records(self) -> None:
        """Keep every record from now on (:meth:`records` returns them all): for tests and
        diagnostics that compare a run's records with a backtest's; a long run's memory then
        grows with its records."""
        if self._archive is None:
            self._archive = {k: [] for k in _KINDS}

    def counts(self) -> RecordCounts:
        """The numbers of trade, order (and of those, rejected) and risk-event records since
        the start or the last :meth:`restore`, dropped ones included."""
        c, d = self.rec.cnt[0], self._dropped
        held = self.rec.orders[: int(c["orders"])]
        return RecordCounts(
            d["trades"] + int(c["trades"]),
            d["orders"] + int(c["orders"]),
            d["rejected"] + int(np.sum(held["status"] == C.STATUS_REJECTED)),
            d["events"] + int(c["events"]),
        )

    def events_after(self, seen: int) -> tuple[np.ndarray, int]:
        """The risk events after the first ``seen`` of the run (copies) and the number of the
        run's events: pass that number next time. Events handed out here may be dropped from
        memory (the caller records them)."""
        c, base = self.rec.cnt[0], self._dropped["events"]
        n = int(c["events"])
        out = self.rec.events[max(seen - base, 0) : n].copy()
        self._events_read = max(self._events_read, base + n)
        return out, base + n

    def snapshot(self) -> dict[str, Any]:
        """The state a restart needs, JSON-safe: the account, risk state, positions, pending
        orders and last prices, and the trades Kelly sizing looks back on (the full records
        are the ledger's)."""
        bk = self.book
        c = self.rec.cnt[0]
        keep = int(self.s["kelly_lookback"]) if self.s["sizing"] == C.SIZE_KELLY else 0
        n_tr = int(c["trades"])
        return {
            "account": encode_array(bk.account), "risk": encode_array(bk.risk),
            "pos": encode_array(bk.pos), "pend": encode_array(bk.pend),
            "last_px": encode_array(bk.last_px),
            "trades": encode_array(self.rec.trades[max(n_tr - keep, 0) : n_tr]),
            "ambiguous": int(c["ambiguous"]), "entry_cols": encode_array(self._pcols),
        }  # fmt: skip

    def restore(self, snap: dict[str, Any]) -> None:
        """Continue from :meth:`snapshot` (the records start again, but for Kelly's trades)."""
        for name in ("account", "risk", "pos", "pend", "last_px"):
            target = getattr(self.book, name)
            target[:] = decode_array(snap[name], target.dtype)
        trades = decode_array(snap["trades"], TRADE)
        self.rec = _new_records(256 + 8 * self.n + len(trades))
        self.rec.trades[: len(trades)] = trades
        self.rec.cnt[0]["trades"] = len(trades)
        self.rec.cnt[0]["ambiguous"] = int(snap["ambiguous"])
        if "entry_cols" in snap:
            self._pcols[:] = decode_array(snap["entry_cols"], self._pcols.dtype)
        self._forget_records()

    def records(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Trade, order and risk-event records (copies): after :meth:`keep_records`, every one
        since; otherwise those not dropped yet (see the module docstring; the ledger holds the
        run, :meth:`counts` the numbers)."""
        c = self.rec.cnt[0]
        held = [getattr(self.rec, k)[: int(c[k])] for k in _KINDS]
        if self._archive is None:
            return held[0].copy(), held[1].copy(), held[2].copy()
        a = self._archive
        trades, orders, events = (
            np.concatenate([*a[k], h]) for k, h in zip(_KINDS, held, strict=True)
        )
        return trades, orders, events

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
        v = {k: _along(a, big) for k, a in self._buf.items()}
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

    # ---- phases --------------------------------------------------------------------------
    def start_bar(self, t: int, new_day: bool, new_week: bool) -> None:
        """At the first bar of a day / week the loss limits measure from the last close."""
        self._room()
        if t > 0:
            new_period_nb(self.book.risk, self.equity, new_day, new_week)

    def plan_open(
        self, t: int, open_px: np.ndarray, sig: SignalRow | None, day: int, week: int
    ) -> OpenPlan:
        """The orders of the open of bar ``t`` (from the pending state the last close left),
        decided by the vectorized engine's own open phase on a scratch copy of the book.
        ``sig`` is the signal bar's row (sizing reads its ATR, volatility, levels, priority
        and weights). The scratch book's pending state becomes the book's: what was sent is
        no longer pending."""
        pend = self.book.pend
        if not (
            pend["exit"].any() or pend["entry"].any() or self.book.account[0]["pend_rebal"] >= 0
        ):
            return OpenPlan()  # nothing pending: the open phase would do nothing
        nan = self._nan_row
        self._load(BarRow(open_px, nan, nan, nan, self._inf_row), sig, day, week)
        scratch = _copy_book(self.book)
        c = self.rec.cnt[0]
        room = 4 * self.n + 16
        kelly = self.s["sizing"] == C.SIZE_KELLY
        n_tr = int(c["trades"]) if kelly else 0  # only Kelly sizing reads past trades
        trades = np.empty(n_tr + room, dtype=TRADE)
        trades[:n_tr] = self.rec.trades[:n_tr]
        srec = Records(
            trades, np.empty(room, dtype=ORDER), np.empty(4, dtype=EVENT),
            np.zeros(1, dtype=COUNTERS),
        )  # fmt: skip
        srec.cnt[0]["trades"] = n_tr
        resting = self._resting_columns(t)
        open_phase_nb(t, self._mk, self._it, scratch, srec, self.s)
        plan = OpenPlan(levels=scratch.pos)
        n_open = int(srec.cnt[0]["orders"])
        if resting:
            self._plan_resting(t, scratch, srec, plan)
        for o in srec.orders[:n_open]:
            j, side, reason = int(o["symbol"]), float(o["side"]), int(o["reason"])
            if o["status"] == C.STATUS_REJECTED:
                plan.rejected.append((j, side, reason))
                add_order_nb(self.rec, t, j, side, 0.0, np.nan, 0.0, C.STATUS_REJECTED, reason,
                             float(o["requested"]))  # fmt: skip
                continue
            plan.orders.append(PlannedOrder(j, side * float(o["qty"]), reason, float(o["price"])))
        self.book.pend[:] = scratch.pend if plan.after_open is None else plan.after_open.pend
        self.book.account[0]["pend_rebal"] = scratch.account[0]["pend_rebal"]
        return plan

    # ---- limit / stop entries ----------------------------------------------------------
    def _resting_columns(self, t: int) -> bool:
        """Load each pending limit / stop entry's signal-bar columns; whether any may fill in
        bar ``t`` (decided before it)."""
        pd = self.book.pend
        mask = (pd["entry"] != 0.0) & ((pd["limit"] == pd["limit"]) | (pd["stop"] == pd["stop"]))
        if not mask.any():
            return False
        cols, b = self._pcols, self._buf
        self._lv[:, mask] = cols[_P_LEVELS, mask]
        b["atr"][mask], b["vol"][mask] = cols[_P_ATR, mask], cols[_P_VOL, mask]
        b["priority"][mask] = cols[_P_PRIORITY, mask]
        return bool((mask & (pd["sig_bar"] < t)).any())

    def entry_atr(self, j: int) -> float:
        """The ATR of the signal bar of symbol ``j``'s pending limit / stop entry (slippage may
        scale with it)."""
        return float(self._pcols[_P_ATR, j])

    def _keep_columns(self, t: int) -> None:
        """Keep the columns of the limit / stop entries that bar ``t``'s signals made."""
        pd = self.book.pend
        mask = (pd["entry"] != 0.0) & (pd["sig_bar"] == t)
        if mask.any():
            b = self._buf
            cols = self._pcols
            cols[_P_LEVELS, mask] = self._lv[:, mask]
            cols[_P_ATR, mask], cols[_P_VOL, mask] = b["atr"][mask], b["vol"][mask]
            cols[_P_PRIORITY, mask] = b["priority"][mask]

    def _plan_resting(self, t: int, scratch: Book, srec: Records, plan: OpenPlan) -> None:
        """The limit / stop entries of bar ``t``: the engine's intrabar entry step on the
        scratch book after the open, in a bar whose range lets each trigger (see
        :func:`~alphaforge.sim.kernels_entry.resting_entries_nb`); they stay pending in the
        book until the venue fills them."""
        plan.after_open = _copy_book(scratch)
        n0 = int(srec.cnt[0]["orders"])
        self._buf["high"][:] = np.inf
        self._buf["low"][:] = -np.inf
        resting_entries_nb(t, self._mk, self._it, scratch, srec, self.s)
        pend = plan.after_open.pend
        for o in srec.orders[n0 : int(srec.cnt[0]["orders"])]:
            j, side = int(o["symbol"]), float(o["side"])
            if o["status"] == C.STATUS_REJECTED:
                plan.refused[j] = (side, int(o["reason"]), float(o["requested"]))
                continue
            pd = pend[j]
            plan.resting.append(RestingOrder(j, side * float(o["qty"]), float(o["price"]),
                                             float(pd["limit"]), float(pd["stop"])))  # fmt: skip
        srec.cnt[0]["orders"] = n0

    def settle_resting(self, t: int, bar: BarRow, plan: OpenPlan | None, filled: set[int]) -> None:
        """After the venue saw bar ``t``: the pending limit / stop entries the engine's
        intrabar step would have tried in its range are done (``filled``: those the venue
        filled), or recorded as refused by the rule the open's plan found; a stop-limit whose
        stop triggered rests as a limit order. The rest stay pending (a day order expires at
        the close)."""
        if plan is None or plan.after_open is None:
            return
        after = plan.after_open
        nan = self._nan_row
        self._load(BarRow(bar.open, bar.high, bar.low, nan, self._inf_row), None, 0, 0)
        self._resting_columns(t)
        out = np.empty(self.n)
        resting_triggers_nb(t, self._mk, self._it, after, out)
        pend = self.book.pend
        live = pend["entry"] != 0.0
        pend["stop"][live] = after.pend["stop"][live]
        for j in np.flatnonzero(out == out).tolist():
            if j not in filled and j in plan.refused and pend[j]["entry"] != 0.0:
                side, reason, requested = plan.refused[j]
                add_order_nb(self.rec, t, j, side, 0.0, np.nan, 0.0, C.STATUS_REJECTED, reason,
                             requested)  # fmt: skip
            pend[j]["entry"], pend[j]["left"] = 0.0, 0.0
            pend[j]["limit"], pend[j]["stop"] = np.nan, np.nan

    def book_fill(
        self,
        t: int,
        j: int,
        delta: float,
        fill: tuple[float, float, float],
        reason: int,
        requested: float,
    ) -> None:
        """Book a venue's fill of ``delta`` units at ``fill`` = (price, fee, slippage per
        unit), with the order record the vectorized engine would write."""
        self._room()
        book_fill_nb(self.rec, self.book.pos, self.book.account, j, t, delta, fill, reason)
        px, fee, _slip = fill
        status = C.STATUS_FILLED if abs(delta) >= requested - 1e-12 else C.STATUS_PARTIAL
        add_order_nb(self.rec, t, j, np.sign(delta), abs(delta), px, fee, status, reason, requested)
        if reason < C.REASON_ENTRY and self.qty(j) == 0.0:
            pd = self.book.pend[j]
            pd["exit"] = False
            if pd["left"] > 0.0:
                pd["entry"] = 0.0
                pd["left"] = 0.0

    def adopt_levels(self, j: int, plan: OpenPlan) -> None:
        """Give new position ``j`` the protective levels the open phase set on the scratch
        book. When the venue filled at another price than planned (a real broker), levels set
        as a distance from the entry move with it; a stop given as a price stays."""
        if plan.levels is None or self.qty(j) == 0.0:
            return
        p = self.book.pos[j]
        planned = plan.levels[j]
        shift = float(p["entry_px"] - planned["entry_px"])
        for name in _LEVELS:
            p[name] = planned[name]
        if shift != 0.0 and shift == shift:
            for name in ("sl", "tp", "maxloss"):
                p[name] = p[name] + shift

    def protective_fill(
        self, t: int, j: int, fill: tuple[float, float, float], reason: int
    ) -> None:
        """Book the fill of a protective exit held at the venue, as the vectorized engine's
        intrabar phase does (with the per-trade loss event of a max-loss exit)."""
        q = self.qty(j)
        if q == 0.0:
            return
        if reason == C.EXIT_RISK_LIMIT:
            move = fill[0] / float(self.book.pos[j]["entry_px"]) - 1.0
            add_event_nb(self.rec, t, C.RULE_TRADE_MAX_LOSS, move if q > 0 else -move, j)
        self.book_fill(t, j, -q, fill, reason, abs(q))

    def close_bar(self, t: int, bar: BarRow, sig: SignalRow | None, day: int, week: int) -> float:
        """Mark to the close of bar ``t``, evaluate the loss limits and turn the signals of
        bar ``t`` into pending orders; returns the equity."""
        self._room()
        self._load(bar, sig, day, week)
        n0 = int(self.rec.cnt[0]["orders"])
        close_phase_nb(t, self._mk, self._it, self.book, self.rec, self._out, self.s, self.risk_on)
        n1 = int(self.rec.cnt[0]["orders"])
        if n1 > n0:  # the day entries this close expired
            done = self.rec.orders[n0:n1]
            self.expired = set(done["symbol"][done["status"] == C.STATUS_EXPIRED].tolist())
        else:
            self.expired = set()
        if sig is not None and sig.limit is not None:
            self._keep_columns(t)
        return float(self._eq[0])

    def stretch(
        self, bars: BarRow, rows: list[np.ndarray], day: np.ndarray, week: np.ndarray
    ) -> Stretch:
        """The inputs of :meth:`quiet` over a whole replay: ``bars`` holds every bar (bars x
        symbols), ``rows`` the strategy's precomputed output in :class:`SignalRow`'s order (see
        :class:`alphaforge.engine.signals.SignalSource`), ``day``/``week`` each bar's ids."""
        e, x, se, sx, w, rb, lv8, pr, atr, vol = rows
        lv = Levels(*lv8)  # (8, bars, symbols): one (bars, symbols) view per field
        n_bars = bars.close.shape[0]
        mk = Market(
            bars.open, bars.high, bars.low, bars.close, bars.volume, atr, vol, self.sectors,
            np.ascontiguousarray(day, dtype=np.int64), np.ascontiguousarray(week, dtype=np.int64),
        )  # fmt: skip
        nan = _along(self._nan_row, n_bars)
        it = Intents(e, x, se, sx, w, np.ascontiguousarray(rb, dtype=bool), lv, nan, nan, pr)
        out = Series(np.zeros(n_bars), np.zeros(n_bars), np.zeros(n_bars), np.zeros(n_bars),
                     np.zeros((1, self.n)))  # fmt: skip
        return Stretch(mk, it, out)

    def quiet(self, st: Stretch, t0: int, t1: int, held: np.ndarray) -> int:
        """Run the quiet bars from ``t0`` on (at most to ``t1``) in one compiled call (see
        :mod:`alphaforge.sim.kernels_replay`); ``held`` is (2, symbols), the stop and target
        the venue holds per symbol. Returns the first bar not run."""
        self._room()
        return int(
            quiet_stretch_nb(
                t0, t1, st.market, st.intents, self.book, self.rec, st.out, self.s,
                self.risk_on, held,
            )
        )  # fmt: skip

    @property
    def exposure(self) -> tuple[float, float]:
        """Gross and net exposure at the last close."""
        return float(self._gross[0]), float(self._net[0])

    # ---- protection held at the venue -------------------------------------------------------
    def protection(self, j: int) -> tuple[float, int, float]:
        """(stop level, its exit reason, take-profit) of position ``j``; NaN where none."""
        if self.qty(j) == 0.0:
            return np.nan, -1, np.nan
        return levels_of(self.book.pos, j)

    def protections(self) -> Protections:
        """Every position's quantity and protection at once (what :meth:`qty` and
        :meth:`protection` give one position at a time), as plain lists."""
        out = np.empty((4, self.n))
        protection_table_nb(self.book.pos, out)
        qty, stop, reason, tp = out.tolist()
        return Protections(qty, stop, [int(r) for r in reason], tp)

    def mark_ambiguous(self, j: int) -> None:
        self.book.pos[j]["ambiguous"] = True
        self.rec.cnt[0]["ambiguous"] += 1


def levels_of(pos: np.ndarray, j: int) -> tuple[float, int, float]:
    """(stop level, its exit reason, take-profit) that row ``j`` of the POSITION rows ``pos``
    holds (the tightest stop of :func:`stop_level_nb`); NaN where none."""
    level, reason = stop_level_nb(pos, j)
    return float(level), int(reason), float(pos[j]["tp"])


class Protections(NamedTuple):
    """Per position: quantity, stop level, the stop's exit reason (-1: none) and take-profit
    (NaN levels where none)."""

    qty: list[float]
    stop: list[float]
    reason: list[int]
    target: list[float]


def touch(
    qty_sign: float, stop: float, target: float, o: float, h: float, lo: float
) -> tuple[float, int, bool]:
    """Where a protective pair (stop, target) of a position of sign ``qty_sign`` is touched in
    a bar (open ``o``, high ``h``, low ``lo``): (raw price, 1 stop / 2 target / 0 none, both
    inside the bar). The vectorized engine's rule (:func:`pair_touch_nb`, which its
    ``level_touch_nb`` applies to a position's levels)."""
    px, reason, both = pair_touch_nb(qty_sign, stop, C.EXIT_STOP_LOSS, target, o, h, lo)
    if px != px:
        return np.nan, 0, False
    return float(px), (2 if reason == C.EXIT_TAKE_PROFIT else 1), bool(both)
