"""``feed.stream``: only for a vendor with a streaming feed; its settings only with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphaforge.config.specs import load_run_spec
from alphaforge.core.errors import ConfigError


def write(tmp_path: Path, feed: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(f"strategy: sma_cross\nsymbols: [AAPL]\nfeed: {feed}\n")
    return path


@pytest.mark.parametrize("source", ["store", "yahoo", "polygon", "ccxt"])
def test_stream_true_without_a_streaming_vendor_is_refused_naming_the_key(
    tmp_path: Path, source: str
) -> None:
    path = write(tmp_path, f"{{source: {source}, stream: true}}")
    with pytest.raises(ConfigError) as err:
        load_run_spec(path)
    assert str(err.value) == (
        f"{path}: feed: stream: source {source} has no streaming feed; "
        "stream: true needs source: alpaca"
    )


@pytest.mark.parametrize(
    ("feed", "key"),
    [("{source: alpaca, stream_url: 'ws://127.0.0.1:1'}", "stream_url"),
     ("{source: alpaca, stream_feed: sip}", "stream_feed")],
)  # fmt: skip
def test_stream_settings_without_stream_are_refused(tmp_path: Path, feed: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_run_spec(write(tmp_path, feed))
    assert f"feed: {key}: only used with stream: true" in str(err.value)


def test_a_feed_the_stream_does_not_know_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_run_spec(write(tmp_path, "{source: alpaca, stream: true, stream_feed: otc}"))
    assert "feed.stream_feed" in str(err.value) and "'otc'" in str(err.value)


def test_the_alpaca_stream_is_accepted_with_its_settings(tmp_path: Path) -> None:
    spec = load_run_spec(
        write(tmp_path, "{source: alpaca, stream: true, stream_feed: sip, stream_url: 'ws://h'}")
    )
    assert (spec.feed.stream, spec.feed.stream_feed, spec.feed.stream_url) == (
        True,
        "sip",
        "ws://h",
    )


def test_a_stream_url_that_is_not_a_websocket_is_refused(tmp_path: Path) -> None:
    feed = "{source: alpaca, stream: true, stream_url: 'http://127.0.0.1:1'}"
    with pytest.raises(ConfigError) as err:
        load_run_spec(write(tmp_path, feed))
    assert "feed.stream_url: expected a ws:// or wss:// URL, got 'http://127.0.0.1:1'" in str(
        err.value
    )
