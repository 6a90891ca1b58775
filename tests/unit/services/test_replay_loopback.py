"""A replay on Alpaca feeds old bars, so every order it sends must reach a local stand-in. It
used to need only the stand-in's control URL (``broker.replay_url``): without ``base_url`` the
replayed bars' orders went to Alpaca's own paper endpoint, or with ``mode: live`` to real money.
Now each of the REST, stream and control URLs must be on loopback, and the refusal names the key
before any connection is made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from alphaforge.adapters.brokers.alpaca import AlpacaVenue
from alphaforge.adapters.brokers.alpaca_wire import off_loopback
from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.core.errors import ConfigError
from alphaforge.services.trading import make_venue

LOCAL = "http://127.0.0.1:8765"
PAPER = "https://paper-api.alpaca.markets"
KEY, SECRET = "AKLOOPBACKTESTKEY", "loopback-test-secret"


def _spec(broker: dict[str, Any], mode: str = "paper") -> RunSpec:
    return RunSpec.model_validate({
        "strategy": "sma_cross", "symbols": ["SYN01"], "mode": mode,
        "broker": {"name": "alpaca", **broker},
    })  # fmt: skip


def _settings(tmp_path: Path) -> AppSettings:
    return AppSettings(home=tmp_path, alpaca_api_key=SecretStr(KEY),
                       alpaca_secret_key=SecretStr(SECRET))  # fmt: skip


@pytest.mark.parametrize(
    ("broker", "mode", "key", "words"),
    [
        ({"replay_url": LOCAL}, "paper", "base_url", "not set"),
        ({"replay_url": LOCAL}, "live", "base_url", "live (real-money)"),
        ({"base_url": PAPER, "replay_url": LOCAL}, "paper", "base_url", PAPER),
        ({"base_url": LOCAL, "stream_url": "wss://paper-api.alpaca.markets/stream",
          "replay_url": LOCAL}, "paper", "stream_url", "wss://paper-api"),
        ({"base_url": LOCAL}, "paper", "replay_url", "not set"),
        ({"base_url": LOCAL, "replay_url": "http://10.0.0.5:8765"}, "paper", "replay_url",
         "10.0.0.5"),
    ],
    ids=["no-base-url", "no-base-url-live", "paper-host", "stream-host", "no-replay-url",
         "lan-replay-url"],
)  # fmt: skip
def test_a_replay_off_loopback_is_refused_naming_the_key(
    tmp_path: Path, broker: dict[str, Any], mode: str, key: str, words: str
) -> None:
    spec = _spec(broker, mode)
    with pytest.raises(ConfigError, match=f"broker.{key}: a replay on Alpaca") as info:
        make_venue(spec, None, 100_000.0, _settings(tmp_path), replay=True)  # type: ignore[arg-type]
    assert words in str(info.value)
    assert KEY not in str(info.value) and SECRET not in str(info.value)


def test_the_stand_in_s_urls_are_a_replay_s() -> None:
    assert off_loopback(LOCAL, None, LOCAL) is None  # the stream beside the REST URL
    assert off_loopback("http://localhost:1", "ws://[::1]:2/stream", "http://localhost:1") is None
    assert off_loopback(LOCAL, None, None) == ("replay_url", None)


def test_the_adapter_follows_no_replay_with_its_orders_off_loopback() -> None:
    """Even built directly, the venue refuses to follow a replay when its orders would leave
    loopback (it raises at the first bar, before any order of the replay is sent)."""
    far = AlpacaVenue("k", "s", url=PAPER, replay_url=LOCAL)
    near = AlpacaVenue("k", "s", url=LOCAL, replay_url=LOCAL)
    assert (far.capabilities.replay, near.capabilities.replay) == (False, True)
