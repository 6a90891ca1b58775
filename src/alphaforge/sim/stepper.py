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

from typing import Any

import numpy as np

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
from alphaforge.sim.step_records import StepRecords, new_records
from alphaforge.sim.step_rows import (
    BarRow,
    OpenPlan,
    PlannedOrder,
    Protections,
    RecordCounts,
    RestingOrder,
    RowBuffers,
    SignalRow,
    Stretch,
    along,
    decode_array,
    encode_array,
)

__all__ = [
    "BarRow", "OpenPlan", "PlannedOrder", "Protections", "RecordCounts", "RestingOrder",
    "SignalRow", "Stepper", "Stretch", "decode_array", "encode_array", "levels_of", "touch",
]  # fmt: skip

_LEVELS = ("sl", "tp", "trail_dist", "trail_pct", "maxloss")
# rows of Stepper._pcols: a pending limit / stop entry's signal-bar inputs, per symbol
_P_LEVELS, _P_ATR, _P_VOL, _P_PRIORITY = slice(0, 8), 8, 9, 10


def _copy_book(bk: Book) -> Book:
    return Book(*(a.copy() for a in bk))


class Stepper(StepRecords, RowBuffers):
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
        self.rec: Records = new_records(256 + 8 * self.n)
        self._archive: dict[str, list[np.ndarray]] | None = None  # see keep_records
        self._forget_records()
        self._eq = np.zeros(1)
        self._cash = np.zeros(1)
        self._gross = np.zeros(1)
        self._net = np.zeros(1)
        self._posrow = np.zeros((1, self.n))
        self._nan_row = np.full(self.n, np.nan)
        self._inf_row = np.full(self.n, np.inf)
        self._scratch: Book | None = None  # the open phase's scratch book and records
        self._srec: Records | None = None
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
        self.rec = new_records(256 + 8 * self.n + len(trades))
        self.rec.trades[: len(trades)] = trades
        self.rec.cnt[0]["trades"] = len(trades)
        self.rec.cnt[0]["ambiguous"] = int(snap["ambiguous"])
        if "entry_cols" in snap:
            self._pcols[:] = decode_array(snap["entry_cols"], self._pcols.dtype)
        self._forget_records()

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
        scratch = self._scratch_book()
        srec = self._scratch_records()
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

    def _scratch_book(self) -> Book:
        """The book copied into the open phase's scratch book: one per stepper, refilled at
        each open (the last plan's ``levels`` are its rows, read until the next open)."""
        scratch = self._scratch
        if scratch is None:
            scratch = self._scratch = _copy_book(self.book)
        else:
            for dst, src in zip(scratch, self.book, strict=True):
                dst[...] = src
        return scratch

    def _scratch_records(self) -> Records:
        """Empty records for the open phase's orders (Kelly sizing: with the past trades it
        reads); reused from open to open but for Kelly's, whose trades grow."""
        room = 4 * self.n + 16
        if self.s["sizing"] == C.SIZE_KELLY:  # only Kelly sizing reads past trades
            n_tr = int(self.rec.cnt[0]["trades"])
            trades = np.empty(n_tr + room, dtype=TRADE)
            trades[:n_tr] = self.rec.trades[:n_tr]
            srec = Records(trades, np.empty(room, dtype=ORDER), np.empty(4, dtype=EVENT),
                           np.zeros(1, dtype=COUNTERS))  # fmt: skip
            srec.cnt[0]["trades"] = n_tr
            return srec
        if self._srec is None:
            self._srec = Records(np.empty(room, dtype=TRADE), np.empty(room, dtype=ORDER),
                                 np.empty(4, dtype=EVENT), np.zeros(1, dtype=COUNTERS))  # fmt: skip
        self._srec.cnt[:] = 0
        return self._srec

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
        nan = along(self._nan_row, n_bars)
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
