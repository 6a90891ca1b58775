"""A paper run on ``feed.source: store`` whose newest bar is long gone says so when it starts
(after ``data sample`` the store ends in 2023, and the run waited without a word)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from alphaforge.cli.trade import stale_store_note
from alphaforge.config.settings import AppSettings
from alphaforge.services.paper import StoreFeed
from alphaforge.services.store import open_store

pytestmark = pytest.mark.integration


@pytest.fixture
def feed(af_home: Path) -> StoreFeed:
    return StoreFeed(open_store(AppSettings(home=af_home)), ["SYN01", "SYN02"], "1d", True)


def _last_stored(home: Path) -> pd.Timestamp:
    """The newest daily bar of the two symbols, read from the store's Parquet files."""
    files = [
        home / "store" / "bars" / "timeframe=1d" / f"symbol={s}.parquet" for s in ("SYN01", "SYN02")
    ]
    last = max(pd.read_parquet(f, columns=["timestamp"])["timestamp"].max() for f in files)
    return last.tz_localize("UTC") if last.tz is None else last


def test_a_store_that_stopped_long_ago_is_named(feed: StoreFeed, af_home: Path) -> None:
    last = _last_stored(af_home)
    note = stale_store_note(feed, "store", last + pd.Timedelta(days=400))
    assert note is not None
    text = " ".join(note.split())
    assert f"newest stored 1d bar is {last:%Y-%m-%d} (400 days ago)" in text
    assert "feed.source" in text


def test_a_fresh_store_or_a_vendor_feed_is_not(feed: StoreFeed, af_home: Path) -> None:
    last = _last_stored(af_home)
    assert stale_store_note(feed, "store", last + pd.Timedelta(days=3)) is None  # a weekend
    assert stale_store_note(feed, "yahoo", last + pd.Timedelta(days=400)) is None
