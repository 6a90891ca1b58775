"""Retry, Retry-After, chunking, redaction and fetch planning of the market-data sources."""

from __future__ import annotations

import itertools
import random

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphaforge.cli.data_fetch import plan_ranges
from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import ConfigError, SourceError
from alphaforge.data.schema import parse_timeframe
from alphaforge.data.sources import SOURCE_NAMES, get_source
from alphaforge.data.sources.base import (
    RetryPolicy,
    TransientError,
    call_with_retry,
    chunk_range,
    one_line,
    parse_retry_after,
    request_window,
)
from alphaforge.ports import MarketDataSource, SeriesInfo

UTC = "UTC"
NS = pd.Timedelta(1, "ns")


@given(
    start=st.integers(0, 10**12),
    length=st.integers(0, 10**11),
    parts=st.integers(1, 60),
)
def test_chunks_tile_the_range_exactly(start: int, length: int, parts: int) -> None:
    span = length // parts + 1
    lo = pd.Timestamp(1_600_000_000_000_000_000 + start, tz=UTC)
    hi = lo + pd.Timedelta(length, "ns")
    pieces = chunk_range(lo, hi, pd.Timedelta(span, "ns"))
    assert pieces[0][0] == lo and pieces[-1][1] == hi
    for (_, b), (c, _) in itertools.pairwise(pieces):
        assert c == b + NS  # touching, never overlapping
    assert all(b - a + NS <= pd.Timedelta(span, "ns") for a, b in pieces)


def test_chunks_of_an_empty_range() -> None:
    t = pd.Timestamp("2024-01-02", tz=UTC)
    assert chunk_range(t, t - NS, pd.Timedelta(days=1)) == []


def test_parse_retry_after() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past


def test_retry_after_wins_over_backoff() -> None:
    policy = RetryPolicy()
    assert policy.delay(3, 7.0) == 7.0


@given(seed=st.integers(0, 2**32), retry=st.integers(0, 10))
def test_backoff_is_exponential_capped_and_seeded(seed: int, retry: int) -> None:
    a = RetryPolicy(seed=seed, base_delay=0.5, max_delay=8.0, jitter=0.25)
    b = RetryPolicy(seed=seed, base_delay=0.5, max_delay=8.0, jitter=0.25)
    base = min(8.0, 0.5 * 2**retry)
    d = a.delay(retry, None)
    assert base <= d < base * 1.25
    assert d == b.delay(retry, None)  # same seed, same jitter


def test_call_with_retry_sleeps_then_succeeds() -> None:
    slept: list[float] = []
    failures = iter([TransientError("HTTP 503 server error"), TransientError("x", 4.0)])

    def flaky() -> str:
        for exc in failures:
            raise exc
        return "ok"

    assert call_with_retry(flaky, RetryPolicy(sleep=slept.append), "v", "X 1d") == "ok"
    rng = random.Random(0)
    assert slept == [pytest.approx(1 + 0.25 * rng.random()), 4.0]


def test_call_with_retry_gives_up_with_named_request() -> None:
    def always() -> None:
        raise TransientError("HTTP 429 rate-limited", 1.0)

    with pytest.raises(SourceError) as err:
        call_with_retry(always, RetryPolicy(attempts=2, sleep=lambda s: None), "polygon", "MSFT 1d")
    assert str(err.value) == "polygon: HTTP 429 rate-limited on MSFT 1d after 2 attempts"


def test_one_line_redacts_secrets() -> None:
    text = "bad key abc123SECRET\nin url https://x/?apiKey=abc123SECRET"
    out = one_line(text, ["abc123SECRET", None])
    assert "abc123SECRET" not in out and "\n" not in out
    assert out == "bad key *** in url https://x/?apiKey=***"


def test_request_window_date_end_includes_the_day() -> None:
    tf, lo, hi = request_window("1h", "2024-01-02", "2024-01-03")
    assert tf.name == "1h"
    assert lo == pd.Timestamp("2024-01-02", tz=UTC)
    assert hi == pd.Timestamp("2024-01-04", tz=UTC) - NS
    with pytest.raises(ConfigError, match="before start"):
        request_window("1d", "2024-01-05", "2024-01-03")


def test_registry_builds_every_source_without_network() -> None:
    settings = AppSettings()
    for name in SOURCE_NAMES:
        src = get_source(name, settings)
        assert isinstance(src, MarketDataSource) and src.name == name
    with pytest.raises(ConfigError, match="unknown value 'bloomberg'"):
        get_source("bloomberg", settings)


def test_settings_secrets_do_not_show_in_repr() -> None:
    settings = AppSettings(polygon_api_key="pk-abcdef-123")
    src = get_source("polygon", settings)
    assert "pk-abcdef-123" not in repr(src) and "pk-abcdef-123" not in repr(settings)


def _info(first: str, last: str) -> SeriesInfo:
    return SeriesInfo("AAPL", "1d", 10, pd.Timestamp(first, tz=UTC), pd.Timestamp(last, tz=UTC))


def test_plan_ranges() -> None:
    tf = parse_timeframe("1d")
    t = lambda s: pd.Timestamp(s, tz=UTC)  # noqa: E731
    end = t("2024-03-01")
    assert plan_ranges(None, tf, None, end) is None
    assert plan_ranges(None, tf, t("2024-01-01"), end) == [(t("2024-01-01"), end)]
    info = _info("2024-01-10", "2024-02-01")
    # Continue from the newest stored bar (fetched again: it may have been incomplete).
    assert plan_ranges(info, tf, None, end) == [(t("2024-02-01"), end)]
    # An earlier start also fills the gap before the first stored bar.
    assert plan_ranges(info, tf, t("2024-01-01"), end) == [
        (t("2024-01-01"), t("2024-01-10") - NS),
        (t("2024-02-01"), end),
    ]
    # Nothing newer wanted than what is stored: no tail request.
    assert plan_ranges(info, tf, None, t("2024-01-20")) == []
