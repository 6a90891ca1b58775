"""Reconciliation on start: the ledger's view of the account against the broker's.

After a restart the runtime has its state as of the last committed cycle. The venue may have
moved on: an order filled while the process was down, an order the ledger thinks is working is
unknown to the venue, a position was opened or closed by hand. Each difference is resolved and
recorded as a reconciliation event:

* ``fill_while_down``: a venue fill before the bar the runtime resumes at, not in the book, is
  booked (fills of that bar itself are the redone cycle's, booked there once by fill id);
* ``unknown_at_venue``: a working order the venue does not know is marked cancelled;
* ``orphan_at_venue``: an open order at the venue the runtime does not track is reported and
  left alone (an idempotent resubmission in the redone cycle adopts the runtime's own);
* ``protection_ended``: a protective order (a stop, a target, a bracket's leg) the venue ended
  unfilled while the position it protects is still held (cancelled by hand, expired) is
  marked ended; the node protects the position again at its next close;
* ``position_adopted``: a fill of an order the runtime never sent (a trade by hand) is booked
  as it is, whenever it was made (no redone cycle would book it); a position that still
  differs from the venue's is then brought to the venue's quantity at its average price, so
  the ledger's positions equal the broker's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from alphaforge.core.orders import Fill, Intent, OrderState, OrderUpdate, Side, client_order_id
from alphaforge.core.panel import utc_time
from alphaforge.ports import ExecutionVenue
from alphaforge.sim import codes as C
from alphaforge.sim.stepper import Stepper

_RUNTIME = client_order_id("", "", "", Intent.ENTRY).split("-", 1)[0] + "-"  # "af-"
_UNFILLED = (OrderState.CANCELLED, OrderState.EXPIRED)


def made_by_runtime(client_id: str) -> bool:
    """Whether ``client_id`` has the form of the runtime's own client order ids
    (:func:`~alphaforge.core.orders.client_order_id`): an order a redone bar sends again, not
    a trade made by hand."""
    return client_id.startswith(_RUNTIME)


@dataclass(frozen=True)
class Difference:
    kind: str
    symbol: str
    client_id: str
    detail: str


@dataclass
class Reconciler:
    """Compares and resolves (see the module docstring); ``booked`` are the fill ids the
    runtime has booked, ``working`` its non-terminal orders by client id."""

    venue: ExecutionVenue
    stepper: Stepper
    symbols: tuple[str, ...]
    strategy: str  # the strategy whose book adopts what the broker did

    def run(
        self,
        since: str | None,
        resume_at: str,
        t: int,
        working: dict[str, object],
        booked: set[str],
    ) -> tuple[list[Difference], list[OrderUpdate]]:
        diffs: list[Difference] = []
        updates: list[OrderUpdate] = []
        redo = self._fills(since, resume_at, t, (booked, set(working)), diffs, updates)
        self._orders(working, diffs, updates)
        diffs += self._protection_ended(working, updates, resume_at)
        self._positions(t, resume_at, redo, (diffs, updates))
        return diffs, updates

    def _fills(
        self,
        since: str | None,
        resume_at: str,
        t: int,
        known: tuple[set[str], set[str]],
        diffs: list[Difference],
        updates: list[OrderUpdate],
    ) -> dict[str, float]:
        """Book the fills made while down; returns the quantities the redone bar will book.
        A fill of an order the runtime never sent is a trade made by hand: adopted, also when
        it was made at or after ``resume_at`` (the redone bar sends no such order)."""
        booked, ours = known
        redo: dict[str, float] = {}
        cut = utc_time(resume_at)
        for f in self.venue.fills(since=since):
            if f.fill_id in booked or f.symbol not in self.symbols:
                continue
            mine = f.client_id in ours
            if utc_time(f.ts) >= cut and (mine or made_by_runtime(f.client_id)):
                redo[f.symbol] = redo.get(f.symbol, 0.0) + f.signed_qty
                continue
            j = self.symbols.index(f.symbol)
            if not mine:
                reason = C.REASON_ADOPT
            elif self.stepper.qty(j) == 0.0:
                reason = C.REASON_ENTRY
            else:
                reason = C.EXIT_SIGNAL
            self.stepper.book_fill(max(t - 1, 0), j, f.signed_qty, (f.price, f.fee, 0.0), reason,
                                   f.qty)  # fmt: skip
            booked.add(f.fill_id)
            f = replace(f, strategy=self.strategy)
            updates.append(OrderUpdate(f.client_id, OrderState.FILLED, f.ts, fill=f))
            kind = "fill_while_down" if mine else "position_adopted"
            diffs.append(Difference(kind, f.symbol, f.client_id,
                                    f"{f.side.value} {f.qty:g} @ {f.price:.4f} at {f.ts}"))  # fmt: skip
        return redo

    def _orders(
        self, working: dict[str, object], diffs: list[Difference], updates: list[OrderUpdate]
    ) -> None:
        open_ids = {o.client_id: o for o in self.venue.open_orders()}
        for cid in list(working):
            if cid in open_ids:
                continue
            known = self.venue.order(cid)
            if known is None:
                updates.append(
                    OrderUpdate(cid, OrderState.CANCELLED, "", reason="unknown at venue")
                )
                diffs.append(Difference("unknown_at_venue", "", cid, "marked cancelled"))
            elif known.state.terminal:
                updates.append(OrderUpdate(cid, known.state, "", known.venue_id))
        for cid, o in open_ids.items():
            if o.parent_id and o.parent_id in working:
                continue  # the protective leg of a working entry (a limit / stop bracket)
            if cid not in working and o.symbol in self.symbols:
                diffs.append(Difference("orphan_at_venue", o.symbol, cid,
                                        f"{o.side.value} {o.qty:g} {o.type.value} left alone"))  # fmt: skip

    def _protection_ended(
        self, working: dict[str, object], updates: list[OrderUpdate], resume_at: str
    ) -> list[Difference]:
        """The protective orders the venue ended unfilled (cancelled, expired) while their
        position is still held there and no fill of it is to come (a sibling leg filling
        after ``resume_at`` ends it too): each one is a difference."""
        ended = {u.client_id: u for u in updates if u.fill is None and u.state in _UNFILLED}
        found = []
        for cid, u in ended.items():
            req = getattr(working.get(cid), "request", None)
            if req is None or req.intent is not Intent.STOP:
                continue
            known = self.venue.order(cid)
            if known is not None and known.filled_qty == 0.0:
                found.append((req, u))
        if not found:
            return []
        held = {p.symbol for p in self.venue.positions() if p.qty}
        ahead_of = getattr(self.venue, "fills_ahead", None) or self.venue.fills
        coming = {
            f.symbol for f in ahead_of(since=resume_at) if utc_time(f.ts) >= utc_time(resume_at)
        }
        return [
            Difference("protection_ended", req.symbol, u.client_id,
                       f"{req.side.value} {req.qty:g} {req.type.value} {u.state.value} at the "
                       "venue, unfilled, while the position is held: protected again")
            for req, u in found
            if req.symbol in held and req.symbol not in coming
        ]  # fmt: skip

    def _positions(
        self,
        t: int,
        resume_at: str,
        redo: dict[str, float],
        found: tuple[list[Difference], list[OrderUpdate]],
    ) -> None:
        """Adopt what no fill explains: the book takes the broker's quantity, and the ledger
        a fill of the difference at the broker's average price (its positions are derived
        from fills), under an id of the symbol and the bar the run resumes at."""
        diffs, updates = found
        at_venue = {p.symbol: p for p in self.venue.positions()}
        for j, sym in enumerate(self.symbols):
            held = self.stepper.qty(j) + redo.get(sym, 0.0)
            vp = at_venue.get(sym)
            want = vp.qty if vp is not None else 0.0
            if abs(want - held) <= 1e-9:
                continue
            px = vp.avg_price if vp is not None else float(self.stepper.book.last_px[j])
            self.stepper.book_fill(max(t - 1, 0), j, want - held, (px, 0.0, 0.0),
                                   C.REASON_ADOPT, abs(want - held))  # fmt: skip
            diffs.append(Difference("position_adopted", sym, "",
                                    f"ledger {held:g} -> broker {want:g} @ {px:.4f}"))  # fmt: skip
            cid = f"adopt-{sym}-{resume_at}-{held:g}-{want:g}"
            fill = Fill(f"{cid}#1", cid, sym, Side.of(want - held), abs(want - held), px, 0.0,
                        resume_at, strategy=self.strategy)  # fmt: skip
            updates.append(OrderUpdate(cid, OrderState.FILLED, resume_at, fill=fill))
