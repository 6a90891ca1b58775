"""The stepper's record buffers: the trade, order and risk-event records the compiled phases
append to, kept bounded (see :mod:`alphaforge.sim.stepper`: what no rule and no reader needs
again is dropped from the front, counted, and archived only after
:meth:`StepRecords.keep_records`)."""

from __future__ import annotations

import numpy as np

from alphaforge.sim import codes as C
from alphaforge.sim.records import COUNTERS, EVENT, ORDER, TRADE, Records
from alphaforge.sim.step_rows import RecordCounts

__all__ = ["StepRecords", "new_records"]


def new_records(cap: int) -> Records:
    return Records(
        np.empty(cap, dtype=TRADE),
        np.empty(cap, dtype=ORDER),
        np.empty(cap, dtype=EVENT),
        np.zeros(1, dtype=COUNTERS),
    )


_KINDS = ("trades", "orders", "events")  # the record buffers of Records, in its order


class StepRecords:
    """The record buffers of a :class:`~alphaforge.sim.stepper.Stepper` and what is read from them."""

    s: np.void  # the run's settings
    n: int  # symbols
    rec: Records
    _archive: dict[str, list[np.ndarray]] | None
    _dropped: dict[str, int]
    _events_read: int

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
