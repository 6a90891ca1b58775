"""The streaming feed of paper and live runs: streamed minute bars into the store, complete bars
only, and the REST source for whatever the stream cannot vouch for.

At each cycle :meth:`StreamFill.refresh` drains the stream (:mod:`alphaforge.data.sources.
alpaca_stream`) and, for each symbol, looks at the bars of the run's timeframe that completed
since the last final one. Alpaca sends a minute bar just after its minute ends and only when
the minute had trades, so a stretch of minutes is known complete when one connection (a
*segment*) was up from before its first minute until a bar of its last minute, or of any later
minute, arrived. When the stream covers the stretch, its minute bars are aggregated to the
timeframe with :func:`alphaforge.data.resample.resample` and written; otherwise (the stream had
not started, or it dropped and reconnected in between) the REST source fills the stretch, as a
REST-only feed would. Either way only complete bars are written: an intraday bar once its
interval has ended, a daily bar at its session's close (from the minutes before the close, the
bar a REST fetch returns then). A bar still forming is never written, so it is never traded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from alphaforge.core.timeframe import Timeframe, parse_timeframe
from alphaforge.data.clock import ExchangeClock
from alphaforge.data.sources.alpaca_stream import StreamBatch, StreamedBar
from alphaforge.ports import BarStore, MarketDataSource

MINUTE = pd.Timedelta(minutes=1)
ONE_NS = pd.Timedelta(1, unit="ns")
_COLUMNS = ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
_SEGMENTS_KEPT = 100


class BarStream(Protocol):
    """What the feed needs of a stream of minute bars."""

    def drain(self) -> StreamBatch: ...

    def check(self) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Bins:
    """How minute bars make bars of ``timeframe``: where a bar starts and when it is complete.

    Intraday bars are fixed UTC intervals labelled by their start. A daily bar is labelled by
    its session date (00:00 UTC), holds the minutes of that date in the calendar's time zone
    and is complete at the session's close (minutes after the close are not in it)."""

    timeframe: Timeframe
    clock: ExchangeClock

    @classmethod
    def of(cls, timeframe: str, calendar: str) -> Bins:
        return cls(parse_timeframe(timeframe), ExchangeClock(calendar))

    @property
    def step(self) -> pd.Timedelta:
        return pd.Timedelta(self.timeframe.nanos, unit="ns")

    def start(self, label: pd.Timestamp) -> pd.Timestamp:
        """The first instant of the bar labelled ``label``."""
        if self.timeframe.is_intraday:
            return label
        day = label.tz_localize(None).tz_localize(self.clock.calendar.tz)
        return day.tz_convert("UTC")

    def end(self, label: pd.Timestamp) -> pd.Timestamp:
        """When the bar labelled ``label`` is complete."""
        if self.timeframe.is_intraday:
            return label + self.step
        return self.clock.next_close(label + ONE_NS)

    def ceil(self, ts: pd.Timestamp) -> pd.Timestamp:
        """The first label at or after ``ts``."""
        return ts.ceil(self.timeframe.pandas_freq if self.timeframe.is_intraday else "D")

    def frontier(self, now: pd.Timestamp) -> pd.Timestamp:
        """The first label whose bar is not complete at ``now`` (every earlier one is)."""
        if self.timeframe.is_intraday:
            return now.floor(self.timeframe.pandas_freq)
        local = now.tz_convert(self.clock.calendar.tz).tz_localize(None).normalize()
        day = local.tz_localize("UTC")
        return day + pd.Timedelta(days=1) if self.end(day) <= now else day

    def last_end(self, first: pd.Timestamp, frontier: pd.Timestamp) -> pd.Timestamp | None:
        """When the last bar labelled in ``[first, frontier)`` completed (None: no bar)."""
        if first >= frontier:
            return None
        if self.timeframe.is_intraday:
            return frontier
        closes = self.clock.bar_closes(self.start(first), self.start(frontier), "1d")
        return closes[-1] if len(closes) else None

    def complete(self, bars: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
        """The rows of ``bars`` (canonical) whose bar is complete at ``now``."""
        if bars.empty:
            return bars
        labels = pd.DatetimeIndex(bars["timestamp"])
        keep = labels < self.frontier(now)
        return bars[keep].reset_index(drop=True)

    def aggregate(self, minutes: pd.DataFrame) -> pd.DataFrame:
        """Bars of the timeframe from canonical minute bars (data.resample's rules); a daily
        bar leaves out the minutes after its session's close."""
        from alphaforge.data.resample import resample

        if minutes.empty or self.timeframe.name == "1m":
            return minutes[_COLUMNS].reset_index(drop=True)
        if not self.timeframe.is_intraday:
            minutes = self._before_close(minutes)
        return resample(minutes, self.timeframe.name, self.clock.name)[_COLUMNS]

    def _before_close(self, minutes: pd.DataFrame) -> pd.DataFrame:
        ts = pd.DatetimeIndex(minutes["timestamp"])
        local = ts.tz_convert(self.clock.calendar.tz).tz_localize(None).normalize()
        labels = local.tz_localize("UTC")
        closes = {d: self.end(d) for d in labels.unique()}
        cutoff = pd.DatetimeIndex([closes[d] for d in labels])
        return minutes[ts < cutoff]


@dataclass
class _Span:
    """The minutes one connection delivered bars of: the first and the latest."""

    first: pd.Timestamp
    last: pd.Timestamp


@dataclass
class MinuteBook:
    """Streamed minute bars per symbol until their bar is written, and what each connection
    (segment) covered."""

    bars: dict[str, dict[pd.Timestamp, StreamedBar]] = field(default_factory=dict)
    spans: dict[int, _Span] = field(default_factory=dict)

    def add(self, bars: list[StreamedBar]) -> None:
        for b in bars:
            span = self.spans.get(b.segment)
            if span is None:
                self.spans[b.segment] = _Span(b.timestamp, b.timestamp)
            else:
                span.first, span.last = min(span.first, b.timestamp), max(span.last, b.timestamp)
            self.bars.setdefault(b.symbol, {})[b.timestamp] = b  # a repeat replaces
        for old in sorted(self.spans)[:-_SEGMENTS_KEPT]:
            del self.spans[old]

    def covered(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> bool:
        """Whether every bar of ``symbol``'s minutes in ``[start, end)`` has arrived: one
        connection saw a minute before ``start`` and then the minute ``end - 1m`` of this symbol
        or a minute at or after ``end`` of any symbol (minutes without trades have no bar)."""
        own = self.bars.get(symbol, {}).get(end - MINUTE)
        for seg, span in self.spans.items():
            if span.first < start and (
                span.last >= end or (own is not None and own.segment == seg)
            ):
                return True
        return False

    def minutes(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """``symbol``'s minute bars in ``[start, end)`` as canonical bars."""
        rows = [b for t, b in sorted(self.bars.get(symbol, {}).items()) if start <= t < end]
        frame = pd.DataFrame(
            {
                "symbol": [b.symbol for b in rows],
                "timestamp": pd.DatetimeIndex([b.timestamp for b in rows], tz="UTC"),
                "open": [b.open for b in rows],
                "high": [b.high for b in rows],
                "low": [b.low for b in rows],
                "close": [b.close for b in rows],
                "volume": [b.volume for b in rows],
            }
        )
        frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
        return frame.astype({c: "float64" for c in _COLUMNS[2:]})

    def prune(self, symbol: str, before: pd.Timestamp) -> None:
        """Forget ``symbol``'s minutes before ``before`` (their bar is final)."""
        book = self.bars.get(symbol)
        if book:
            for t in [t for t in book if t < before]:
                del book[t]


@dataclass
class StreamFill:
    """A stream of minute bars and the REST source behind it, writing complete bars of the
    run's timeframe into the store (see the module's description)."""

    stream: BarStream
    bins: Bins
    book: MinuteBook = field(default_factory=MinuteBook)
    final_before: dict[str, pd.Timestamp | None] = field(default_factory=dict)
    streamed: int = 0  # bars written from the stream
    filled: int = 0  # bars written from the REST source

    def refresh(
        self,
        store: BarStore,
        source: MarketDataSource,
        symbols: list[str],
        now: pd.Timestamp,
        since: pd.Timestamp,
    ) -> list[str]:
        """Write the bars completed by ``now``; returns the events to log (one line each)."""
        self.stream.check()
        batch = self.stream.drain()
        self.book.add(batch.bars)
        events = list(batch.events)
        frontier = self.bins.frontier(now)
        for symbol in symbols:
            note = self._symbol(store, source, symbol, now, since, frontier)
            if note:
                events.append(note)
        return events

    def close(self) -> None:
        self.stream.close()

    def _symbol(
        self,
        store: BarStore,
        source: MarketDataSource,
        symbol: str,
        now: pd.Timestamp,
        since: pd.Timestamp,
        frontier: pd.Timestamp,
    ) -> str | None:
        tf = self.bins.timeframe.name
        if symbol not in self.final_before:
            last = store.last_timestamp(symbol, tf)
            self.final_before[symbol] = None if last is None else last + ONE_NS
        final = self.final_before[symbol]
        if final is not None:
            first = self.bins.ceil(final)
            end = self.bins.last_end(first, frontier)
            if end is None:
                return None  # no bar completed since the last final one
            start = self.bins.start(first)
            if self.book.covered(symbol, start, end):
                bars = self.bins.aggregate(self.book.minutes(symbol, start, end))
                bars = bars[(bars["timestamp"] >= first) & (bars["timestamp"] < frontier)]
                if len(bars):
                    store.write(bars.reset_index(drop=True), tf)
                self.streamed += len(bars)
                self._final(symbol, frontier)
                return None
        last = store.last_timestamp(symbol, tf)
        got = self.bins.complete(
            source.fetch(symbol, tf, since if last is None else last, now), now
        )
        if len(got):
            store.write(got, tf)
            newest = pd.Timestamp(got["timestamp"].max()) + ONE_NS
            self._final(symbol, newest if final is None else max(final, newest))
        new = int((got["timestamp"] >= final).sum()) if len(got) and final is not None else len(got)
        self.filled += new
        if final is None:
            return None  # the history before the stream: nothing to report
        return f"{symbol}: {new} {tf} bar(s) from the REST source (not covered by the stream)"

    def _final(self, symbol: str, before: pd.Timestamp) -> None:
        self.final_before[symbol] = before
        self.book.prune(symbol, self.bins.start(self.bins.ceil(before)))


def stream_fill(spec: Any, settings: Any, timeframe: str) -> StreamFill:
    """The streaming part of the feed of ``spec`` (``feed.stream: true``), connected: Alpaca's
    stock stream of the run's symbols (US equities: the XNYS calendar unless ``calendar:``)."""
    from alphaforge.data.sources.alpaca_stream import AlpacaBarStream

    feed = spec.feed
    stream = AlpacaBarStream(
        settings, list(spec.symbols), feed=feed.stream_feed, url=feed.stream_url
    ).start()
    return StreamFill(stream, Bins.of(timeframe, spec.calendar or "XNYS"))
