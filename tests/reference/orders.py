"""Pending orders: a market exit per symbol and an entry (market, limit, stop or stop-limit)."""

from __future__ import annotations

import math
from dataclasses import dataclass

NAN = math.nan


@dataclass
class Entry:
    direction: int
    signal_bar: int
    limit: float = NAN
    stop: float = NAN
    rest: float = 0.0  # unfilled rest of a volume-capped market entry (0: size at the fill)

    @property
    def is_market(self) -> bool:
        return math.isnan(self.limit) and math.isnan(self.stop)


class PendingBook:
    """Orders waiting for a later bar (or this bar's close under close timing)."""

    def __init__(self) -> None:
        self.exits: dict[int, str] = {}  # symbol -> exit reason of a pending market exit
        self.entries: dict[int, Entry] = {}

    def cancel_rest(self, j: int) -> None:
        """Closing a position drops the unfilled rest of the entry that built it."""
        e = self.entries.get(j)
        if e is not None and e.rest > 0.0:
            del self.entries[j]

    def exit(self, j: int, reason: str) -> None:
        self.exits[j] = reason
        self.cancel_rest(j)

    def from_signals(
        self,
        j: int,
        t: int,
        qty: float,
        flags: tuple[bool, bool, bool, bool],
        prices: tuple[float, float],
    ) -> None:
        """Signals of bar ``t`` (long entry, long exit, short entry, short exit, already masked by
        the allowed direction) become orders. An entry and an exit of the same side cancel out;
        an opposite entry closes the position and reverses it; an exit signal while flat cancels
        a resting entry of its side."""
        le, lx, se, sx = flags
        new = 0
        if qty > 0:
            if lx or se:
                self.exit(j, "signal")
            new = -1 if se and not sx else 0
        elif qty < 0:
            if sx or le:
                self.exit(j, "signal")
            new = 1 if le and not lx else 0
        elif le and not lx:
            new = 1
        elif se and not sx:
            new = -1
        else:
            e = self.entries.get(j)
            if e is not None and ((lx and e.direction > 0) or (sx and e.direction < 0)):
                del self.entries[j]
        if new:
            self.entries[j] = Entry(new, t, prices[0], prices[1])


def trigger_price(e: Entry, o: float, h: float, lo: float) -> float:
    """Raw fill price of a limit / stop / stop-limit entry inside a bar (NaN if it does not fill).

    A stop triggers when the range reaches it, at the open when the bar gaps through it. A
    stop-limit whose trigger is beyond the limit fills at the limit only when it triggered at
    the open (then the rest of the bar may come back to the limit); otherwise it rests as a
    limit order from the next bar on (see :func:`stop_reached`).
    """
    d, lim, stp = e.direction, e.limit, e.stop
    if not math.isnan(stp):
        if (d > 0 and h < stp) or (d < 0 and lo > stp):
            return NAN
        trig = max(o, stp) if d > 0 else min(o, stp)
        if not math.isnan(lim) and ((d > 0 and trig > lim) or (d < 0 and trig < lim)):
            back = (d > 0 and lo <= lim) or (d < 0 and h >= lim)
            return lim if trig == o and back else NAN
        return trig
    if (d > 0 and lo > lim) or (d < 0 and h < lim):
        return NAN
    return min(o, lim) if d > 0 else max(o, lim)


def stop_reached(e: Entry, h: float, lo: float) -> bool:
    return not math.isnan(e.stop) and (
        (e.direction > 0 and h >= e.stop) or (e.direction < 0 and lo <= e.stop)
    )
