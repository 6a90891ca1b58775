"""The kill switch of a trading node: the halt in the ledger, read at most every
``halt_poll_seconds``, sets the risk gate's trading state for the cycle (at least the account's
floor); a halt with flatten closes every position at the next open. Also the orders pending
from a close whose open passed unseen, which a catch-up drops as stale."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from alphaforge.engine.gate import TradingState
from alphaforge.engine.node_parts import Cycle, NodeState
from alphaforge.sim import codes as C


class KillSwitch(NodeState):
    """The node's halt, its flatten and its stale pending orders."""

    floor: TradingState  # the least an account's own limits impose
    _halt_checked: float
    _halt: Any  # the kill switch as last read from the ledger
    _halt_flatten: bool

    if TYPE_CHECKING:  # the node's own step

        def _cancel_resting(self, keep: set[int], cyc: Cycle) -> None: ...

    # ---- kill switch --------------------------------------------------------------------
    def _kill_switch(self, t: int, cyc: Cycle) -> None:
        """The trading state of this cycle: the kill switch in the ledger (read at most every
        ``halt_poll_seconds``), at least the account's ``floor``; a halt with flatten closes
        every position at this open."""
        now = time.monotonic()
        if now - self._halt_checked >= self.p.halt_poll_seconds:
            self._halt_checked = now
            self._halt = self.p.ledger.halted()
        halt = self._halt
        self._halt_flatten = bool(halt is not None and halt.flatten)
        state = self.floor
        if halt is not None:
            state = TradingState.REDUCING if halt.reducing else TradingState.HALTED
            if self.floor is TradingState.HALTED:
                state = TradingState.HALTED
        gate = self.p.gate
        if gate.state is not state:
            if halt is not None:
                self.p.log(str(state), reason=halt.reason, flatten=halt.flatten)
            else:
                self.p.log("resumed" if state is TradingState.ACTIVE else str(state),
                           bar=self._texts[t], reason="account limits")  # fmt: skip
            gate.state = state
        if halt is not None and halt.flatten:
            self._flatten(t, cyc)

    def _drop_pending(self, t: int, cyc: Cycle) -> None:
        """Forget the orders pending from a close whose open has passed unseen (stale)."""
        pend = self.st.book.pend
        for j, sym in enumerate(self.panel.symbols):
            if pend[j]["exit"] or pend[j]["entry"] != 0.0:
                cyc.decisions.append((sym, "skip", 0.0, "stale: the bar was caught up", False))
            pend[j]["exit"] = False
            pend[j]["entry"] = 0.0
            pend[j]["left"] = 0.0
        self.st.book.account[0]["pend_rebal"] = -1
        self._plan = None
        self._cancel_resting(set(), cyc)

    def _flatten(self, t: int, cyc: Cycle) -> None:
        """Close every position at this open (the kill switch's flatten)."""
        pend = self.st.book.pend
        for j in range(self.st.n):
            if self.st.qty(j) != 0.0:
                pend[j]["exit"] = True
                pend[j]["exit_reason"] = C.EXIT_RISK_LIMIT
            pend[j]["entry"] = 0.0
        self.st.book.account[0]["pend_rebal"] = -1
