"""When streamed minutes vouch for a bar, and which minutes make it (services.feeds)."""

from __future__ import annotations

import pandas as pd
import pytest

from alphaforge.data.sources.alpaca_stream import StreamedBar
from alphaforge.services.feeds import Bins, MinuteBook


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def bar(symbol: str, minute: str, segment: int = 1, price: float = 10.0) -> StreamedBar:
    return StreamedBar(symbol, utc(minute), price, price + 1, price - 1, price, 100.0, segment)


def test_intraday_bins_are_utc_intervals_complete_at_their_end() -> None:
    bins = Bins.of("5m", "XNYS")
    assert bins.frontier(utc("2024-07-01 14:09:59")) == utc("2024-07-01 14:05")
    assert bins.frontier(utc("2024-07-01 14:10:00")) == utc("2024-07-01 14:10")
    assert bins.end(utc("2024-07-01 14:05")) == utc("2024-07-01 14:10")
    assert bins.ceil(utc("2024-07-01 14:05") + pd.Timedelta(1, unit="ns")) == utc(
        "2024-07-01 14:10"
    )


def test_a_daily_bar_is_the_new_york_date_complete_at_the_close() -> None:
    bins = Bins.of("1d", "XNYS")
    day = utc("2024-07-03")  # an early close: 13:00 New York, 17:00 UTC
    assert bins.start(day) == utc("2024-07-03 04:00")  # 00:00 New York (EDT)
    assert bins.end(day) == utc("2024-07-03 17:00")
    assert bins.frontier(utc("2024-07-03 16:59")) == day
    assert bins.frontier(utc("2024-07-03 17:00")) == utc("2024-07-04")
    # Friday's bar is complete all weekend; Saturday's label never completes a session
    assert bins.frontier(utc("2024-07-06 12:00")) == utc("2024-07-06")
    assert bins.last_end(utc("2024-07-05"), utc("2024-07-06")) == utc("2024-07-05 20:00")


def test_a_daily_bar_leaves_out_the_minutes_after_the_close() -> None:
    book = MinuteBook()
    book.add([bar("X", "2024-07-03 16:59", price=10), bar("X", "2024-07-03 17:05", price=50)])
    out = Bins.of("1d", "XNYS").aggregate(
        book.minutes("X", utc("2024-07-03 04:00"), utc("2024-07-04 04:00"))
    )
    assert out["timestamp"].tolist() == [utc("2024-07-03")]
    assert (out["close"].tolist(), out["high"].tolist()) == ([10.0], [11.0])


def test_the_first_minute_of_a_connection_is_not_trusted() -> None:
    book = MinuteBook()
    book.add([bar("X", "2024-07-01 14:00"), bar("X", "2024-07-01 14:04")])
    assert not book.covered("X", utc("2024-07-01 14:00"), utc("2024-07-01 14:05"))
    book.add([bar("X", "2024-07-01 14:09")])
    assert book.covered("X", utc("2024-07-01 14:05"), utc("2024-07-01 14:10"))


@pytest.mark.parametrize(
    ("later", "covered"),
    [
        ([], False),  # Y's last minute had no bar, and nothing later came yet
        ([bar("X", "2024-07-01 14:10")], True),  # a later minute of any symbol: Y had none
        ([bar("X", "2024-07-01 14:10", segment=2)], False),  # ... but on another connection
    ],
)
def test_a_bar_without_its_last_minute_waits_for_a_later_minute(
    later: list[StreamedBar], covered: bool
) -> None:
    book = MinuteBook()
    book.add(
        [bar("X", "2024-07-01 14:04"), bar("Y", "2024-07-01 14:05"), bar("X", "2024-07-01 14:09")]
    )
    book.add(later)
    assert book.covered("X", utc("2024-07-01 14:05"), utc("2024-07-01 14:10"))  # its own 14:09
    assert book.covered("Y", utc("2024-07-01 14:05"), utc("2024-07-01 14:10")) is covered


def test_a_reconnect_is_a_gap_even_when_minutes_continue() -> None:
    book = MinuteBook()
    book.add([bar("X", "2024-07-01 14:00"), bar("X", "2024-07-01 14:06")])
    book.add([bar("X", "2024-07-01 14:07", segment=2), bar("X", "2024-07-01 14:14", segment=2)])
    assert not book.covered("X", utc("2024-07-01 14:05"), utc("2024-07-01 14:15"))
    assert book.covered("X", utc("2024-07-01 14:10"), utc("2024-07-01 14:15"))
