"""The quiet bars of a replay: a stretch of bars on which the node would only mark its book runs
in one compiled call (:mod:`alphaforge.sim.kernels_replay`) and is written as cycles that hold
an equity snapshot; the state after it is the state the cycle-by-cycle path reaches."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

import numpy as np

from alphaforge.engine.gate import TradingState
from alphaforge.engine.node_parts import Cycle, NodeState, same_level
from alphaforge.ports import MarkingVenue
from alphaforge.sim.stepper import BarRow


class QuietBars(NodeState):
    """Runs a replay's quiet bars ahead of the node's cycle."""

    if TYPE_CHECKING:  # the node's own steps

        def _kill_switch(self, t: int, cyc: Cycle) -> None: ...

        def _begin_batch(self) -> None: ...

        def commit(self) -> None: ...

    # ---- quiet bars of a replay ---------------------------------------------------------
    def fast_forward(
        self, t: int, t_end: int, on_bar: Callable[[int, float], None] | None = None
    ) -> int:
        """Run the quiet bars from ``t`` on (before ``t_end``) in one compiled call, and write
        them as cycles that only marked the book; returns the next bar for :meth:`step`.

        Only a replay on a venue in this process, with precomputed signals, a batched ledger
        and trading active, has quiet bars (see :mod:`alphaforge.sim.kernels_replay`); on any
        other node this returns ``t``. The state after it is the state :meth:`step` reaches."""
        held = self._quiet_ready(t)
        if held is None:
            return t
        if self._stretch is None:
            rows = self.p.signals.full(self.panel)
            assert rows is not None
            pnl = self.panel
            bars = BarRow(pnl.open, pnl.high, pnl.low, pnl.close, pnl.volume)
            self._stretch = self.st.stretch(bars, rows, self.p.day, self.p.week)
        room = self.p.batch - (self._batch_n if self._batch is not None else 0)
        stop = self.st.quiet(self._stretch, t, min(t_end, t + room), held)
        if stop > t:
            self._write_marks(t, stop)
            self.sig, _w = self.p.signals.row(self.panel, stop - 1)
            if on_bar is not None:
                for k in range(t, stop):
                    on_bar(k, float(self._stretch.out.equity[k]))
        return stop

    def marked_equity(self, t: int, stop: int) -> np.ndarray:
        """The equity of the quiet bars ``[t, stop)`` that :meth:`fast_forward` ran."""
        assert self._stretch is not None
        return np.asarray(self._stretch.out.equity[t:stop])

    def _quiet_ready(self, t: int) -> np.ndarray | None:
        """The (2, symbols) stop and target held at the venue when bars may be quiet from
        ``t`` on: every working order at the venue is a position's protection, in step with the
        book's levels. None when they may not (see :meth:`fast_forward`)."""
        venue = self.p.venue
        if self.p.batch <= 1 or self.p.signals.full(self.panel) is None:
            return None
        if self.p.signals.scored:
            return None  # a scored strategy records its score at every bar
        pend = self.st.book.pend
        if pend["exit"].any() or pend["entry"].any() or self.st.book.account[0]["pend_rebal"] >= 0:
            return None  # the open of bar t has work
        if not self._marking or self._reconciled != ([], []):
            return None
        self._kill_switch(t, Cycle())
        if self.p.gate.state is not TradingState.ACTIVE:
            return None
        held = np.full((2, self.st.n), np.nan)
        table = self.st.protections()
        for j in range(self.st.n):
            q, stop, tp = table.qty[j], table.stop[j], table.target[j]
            prot = self.protect.get(j)
            if prot is None:
                if q != 0.0 and (stop == stop or tp == tp):
                    return None  # a position whose protection the venue does not hold
                continue
            if q == 0.0:
                return None
            if not (prot.stop == stop or same_level(prot.stop, stop)):
                return None
            if not (prot.target == tp or same_level(prot.target, tp)):
                return None
            if abs(prot.qty - abs(q)) >= 1e-9:
                return None
            held[0, j], held[1, j] = prot.stop, prot.target
        guards = {cid for prot in self.protect.values() for cid in prot.ids}
        if not cast(MarkingVenue, venue).open_ids() <= guards:  # (_marking: checked once)
            return None
        return held

    def _write_marks(self, t: int, stop: int) -> None:
        """Write the quiet bars ``[t, stop)`` into the open batch, and move the venue past them."""
        assert self._stretch is not None
        out = self._stretch.out
        if self._batch is None:
            self._begin_batch()
        values = {name: getattr(out, name)[t:stop].tolist()
                  for name in ("cash", "equity", "gross", "net")}  # fmt: skip
        marks = self._open_cycle.marks(self.p.strategy_id, self._texts[t:stop], values)
        last = {s: float(p) for s, p in zip(self.panel.symbols, self.st.book.last_px, strict=True)
                if p == p}  # fmt: skip
        venue = self.p.venue
        cast(MarkingVenue, venue).mark(self._texts[stop - 1], last)
        self._batch_n += stop - t
        self._last_w = (marks, stop - 1)
        if (
            self._batch_n >= self.p.batch
            or time.monotonic() - self._batch_t0 >= self.p.batch_seconds
        ):
            self.commit()
