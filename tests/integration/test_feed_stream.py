"""The streaming feed: alpaca-py's ``StockDataStream`` against the local stand-in of Alpaca's
market-data stream, the REST stand-in behind it, the store, and a paper run driven by a clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import SecretStr

from alphaforge.config.settings import AppSettings
from alphaforge.data.sources.alpaca_stream import AlpacaBarStream
from alphaforge.data.store import ParquetStore
from alphaforge.services.feeds import Bins, StreamFill
from alphaforge.services.paper import StoreFeed
from alphaforge.testing.alpaca_data_stream import MarketDataStreamServer
from alphaforge.testing.vendor_servers import VendorServer, synthetic_bars

pytestmark = pytest.mark.integration
KEY, SECRET = "test-key-123", "test-secret-456"
SYMBOLS = ["AAPL", "MSFT"]
NY = "America/New_York"
FREQ = {"5m": "5min", "15m": "15min", "1h": "1h", "1d": "1D"}
DAY = "2024-07-01"  # a Monday; New York is on EDT (UTC-4): the session is 13:30-20:00 UTC


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def minutes(start: str, end: str, symbols: list[str] = SYMBOLS) -> pd.DataFrame:
    """The stand-in world's minute bars of ``symbols`` starting in ``[start, end]``."""
    parts = [synthetic_bars(s, "1m", utc(start), utc(end)) for s in symbols]
    return pd.concat(parts, ignore_index=True).drop(columns="adj_close")


def by_hand(mins: pd.DataFrame, tf: str) -> pd.DataFrame:
    """Minute bars aggregated with pandas' own resample: left-closed bins labelled by their
    start; a daily bin is the New York date, labelled 00:00 UTC."""
    out = []
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    for sym, g in mins.groupby("symbol"):
        s = g.set_index("timestamp")[list(agg)]
        if tf == "1d":
            s.index = pd.DatetimeIndex(s.index).tz_convert(NY).tz_localize(None)
        r = s.resample(FREQ[tf], label="left", closed="left").agg(agg).dropna(subset=["open"])
        if tf == "1d":
            r.index = pd.DatetimeIndex(r.index).tz_localize("UTC")
        out.append(r.reset_index().assign(symbol=sym))
    frame = pd.concat(out, ignore_index=True)
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
    return frame[["symbol", "timestamp", *agg]]


class MinuteVendor(VendorServer):
    """The Alpaca REST stand-in serving bars aggregated (by hand) from the same minute bars the
    stream stand-in sends, as Alpaca's own bars are."""

    def bars(self, symbol: str, timeframe: str, start: Any, end: Any) -> pd.DataFrame:
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        lo = lo.tz_localize("UTC") if lo.tzinfo is None else lo
        hi = hi.tz_localize("UTC") if hi.tzinfo is None else hi
        mins = synthetic_bars(symbol, "1m", lo.floor("D"), hi).drop(columns="adj_close")
        if timeframe == "1m" or mins.empty:
            return mins
        return by_hand(mins, timeframe)


def wait_for(cond: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def settings(secret: str = SECRET, **extra: Any) -> AppSettings:
    return AppSettings(alpaca_api_key=SecretStr(KEY), alpaca_secret_key=SecretStr(secret), **extra)


@pytest.fixture
def server() -> Iterator[MarketDataStreamServer]:
    with MarketDataStreamServer(KEY, SECRET) as s:
        yield s


@pytest.fixture
def rest() -> Iterator[MinuteVendor]:
    s = MinuteVendor("alpaca", api_key=KEY, secret_key=SECRET)
    s.start()
    yield s
    s.stop()


@pytest.fixture
def stream(server: MarketDataStreamServer) -> Iterator[AlpacaBarStream]:
    s = AlpacaBarStream(settings(), SYMBOLS, url=server.url, reconnect_backoff=0.02).start()
    yield s
    s.close()


def push(server: MarketDataStreamServer, stream: AlpacaBarStream, bars: pd.DataFrame) -> None:
    """Send ``bars`` and wait until the client has them all."""
    want = stream.received + len(bars)
    assert server.push_bars(bars) == len(bars)
    wait_for(lambda: stream.received >= want, f"{len(bars)} streamed bars")


class NoRest:
    """A source that must not be asked: the stream covers everything."""

    name = "alpaca"

    def fetch(self, *args: Any) -> pd.DataFrame:
        raise AssertionError(f"unexpected REST fetch {args}")


def test_streamed_minute_bars_arrive_with_exact_values_and_times(
    server: MarketDataStreamServer, stream: AlpacaBarStream
) -> None:
    sent = minutes(f"{DAY} 13:30", f"{DAY} 13:34")
    push(server, stream, sent)
    got = stream.drain().bars
    assert server.paths == ["/v2/iex"]  # the feed's path under the overridden URL
    assert {b.segment for b in got} == {1}
    rows = pd.DataFrame(
        [(b.symbol, b.timestamp, b.open, b.high, b.low, b.close, b.volume) for b in got],
        columns=list(sent.columns),
    )
    rows["timestamp"] = rows["timestamp"].astype("datetime64[ns, UTC]")
    expect = sent.sort_values(["timestamp", "symbol"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(rows, expect)
    assert rows["timestamp"].iloc[0] == utc(f"{DAY} 13:30")  # 09:30 New York, EDT
    assert stream.drain().bars == []  # drained once


@pytest.mark.parametrize("tf", ["5m", "1h", "1d"])
def test_aggregated_bars_equal_pandas_resample_of_the_streamed_minutes(
    tmp_path: Path, server: MarketDataStreamServer, stream: AlpacaBarStream, tf: str
) -> None:
    store = ParquetStore(tmp_path / "store")
    before = by_hand(minutes("2024-06-28 19:00", "2024-06-28 19:59"), tf)
    store.write(before, tf)  # the stored history ends on Friday's last bar
    fill = StreamFill(stream, Bins.of(tf, "XNYS"))
    push(server, stream, minutes("2024-06-28 19:59", "2024-06-28 19:59"))  # seen before Monday
    day = minutes(f"{DAY} 13:30", f"{DAY} 19:59")
    push(server, stream, day)
    fill.refresh(store, NoRest(), SYMBOLS, utc(f"{DAY} 20:00:05"), utc("2024-06-01"))
    got = store.read(SYMBOLS, tf, utc(DAY), None).reset_index(drop=True)
    expect = by_hand(day, tf)
    pd.testing.assert_frame_equal(got[expect.columns], expect, check_dtype=False)
    assert fill.streamed == len(expect) and fill.filled == 0
    assert len(expect) == {"5m": 156, "1h": 14, "1d": 2}[tf]  # 78 / 7 / 1 per symbol


def test_a_bar_still_forming_is_never_written(
    tmp_path: Path, server: MarketDataStreamServer, stream: AlpacaBarStream
) -> None:
    store = ParquetStore(tmp_path / "store")
    store.write(by_hand(minutes(f"{DAY} 13:30", f"{DAY} 13:59"), "5m"), "5m")
    fill = StreamFill(stream, Bins.of("5m", "XNYS"))
    push(server, stream, minutes(f"{DAY} 13:59", f"{DAY} 14:07"))
    now = utc(f"{DAY} 14:08:05")  # the 14:05 bar has three of its five minutes
    fill.refresh(store, NoRest(), SYMBOLS, now, utc(DAY))
    stored = store.read(SYMBOLS, "5m", utc(f"{DAY} 14:00"), None)
    assert sorted(stored["timestamp"].unique()) == [utc(f"{DAY} 14:00")]
    push(server, stream, minutes(f"{DAY} 14:08", f"{DAY} 14:09"))
    fill.refresh(store, NoRest(), SYMBOLS, utc(f"{DAY} 14:10:02"), utc(DAY))
    got = store.read(SYMBOLS, "5m", utc(f"{DAY} 14:05"), None).reset_index(drop=True)
    expect = by_hand(minutes(f"{DAY} 14:05", f"{DAY} 14:09"), "5m")
    pd.testing.assert_frame_equal(got[expect.columns], expect, check_dtype=False)


def test_bars_sent_while_disconnected_are_filled_over_rest_like_a_rest_only_feed(
    tmp_path: Path, server: MarketDataStreamServer, stream: AlpacaBarStream, rest: MinuteVendor
) -> None:
    from alphaforge.data.sources import RetryPolicy, get_source

    source = get_source("alpaca", settings(alpaca_data_url=rest.url), RetryPolicy(attempts=1))
    streamed = StoreFeed(ParquetStore(tmp_path / "a"), SYMBOLS, "5m", False, source)
    streamed.stream = StreamFill(stream, Bins.of("5m", "XNYS"))
    plain = StoreFeed(ParquetStore(tmp_path / "b"), SYMBOLS, "5m", False, source)
    since = utc(f"{DAY} 13:30")

    def cycle(now: str) -> list[str]:
        plain.refresh(utc(now), since)
        return streamed.refresh(utc(now), since)

    cycle(f"{DAY} 14:00:30")  # history: REST, 13:30 .. 13:55
    push(server, stream, minutes(f"{DAY} 13:59", f"{DAY} 14:09"))
    assert cycle(f"{DAY} 14:10:05") == []  # 14:00 and 14:05 from the stream
    assert streamed.stream.streamed == 4
    server.drop()
    wait_for(lambda: stream.segment == 2, "the reconnect")  # 14:10 .. 14:19 were never sent
    push(server, stream, minutes(f"{DAY} 14:20", f"{DAY} 14:24"))
    events = cycle(f"{DAY} 14:25:05")
    assert any("restarting connection" in e for e in events)  # the drop, in the run's log
    assert [e for e in events if "REST" in e] == [
        f"{s}: 3 5m bar(s) from the REST source (not covered by the stream)" for s in SYMBOLS
    ]
    push(server, stream, minutes(f"{DAY} 14:25", f"{DAY} 14:29"))
    assert cycle(f"{DAY} 14:30:05") == []  # the new connection covers 14:25
    assert streamed.stream.streamed == 6
    a = streamed.store.read(SYMBOLS, "5m", None, None)
    b = plain.store.read(SYMBOLS, "5m", None, None)
    pd.testing.assert_frame_equal(a, b)
    truth = by_hand(minutes(f"{DAY} 13:30", f"{DAY} 14:29"), "5m")
    pd.testing.assert_frame_equal(a.reset_index(drop=True)[truth.columns], truth, check_dtype=False)


def test_a_refusing_server_message_stops_the_stream_with_one_line(
    server: MarketDataStreamServer, stream: AlpacaBarStream
) -> None:
    from alphaforge.core.errors import SourceError

    stream.drain()
    server.send_error(500, "internal error")  # passing: alpaca-py carries on
    seen: list[str] = []

    def drained() -> bool:
        seen.extend(stream.drain().events)
        return bool(seen)

    wait_for(drained, "the error event")
    assert seen == ["alpaca stream (iex): server error: internal error (500)"]
    stream.check()
    server.send_error(409, "insufficient subscription")

    def failed() -> bool:
        stream.check()
        return False

    with pytest.raises(SourceError) as err:
        wait_for(failed, "the failure")
    assert str(err.value) == (
        "alpaca stream (iex): the server refused: insufficient subscription (409)"
    )


def test_a_refused_login_is_one_line_naming_the_feed_without_the_secret(
    tmp_path: Path, server: MarketDataStreamServer
) -> None:
    import yaml
    from typer.testing import CliRunner

    from alphaforge.cli.app import app

    wrong = "wrong-secret-789"
    config = tmp_path / "run.yaml"
    spec = {**paper_spec(server), "feed": {**paper_spec(server)["feed"], "stream_feed": "sip"}}
    server.feed = "sip"
    config.write_text(yaml.safe_dump(spec))
    env = {"ALPHAFORGE_ALPACA_API_KEY": KEY, "ALPHAFORGE_ALPACA_SECRET_KEY": wrong}
    res = CliRunner().invoke(
        app, ["--home", str(tmp_path), "paper", "--config", str(config)], env=env
    )
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 1
    assert len(lines) == 1, res.output
    assert "alpaca stream (sip): login refused: auth failed" in lines[0]
    assert wrong not in res.output and "Traceback" not in res.output
    assert server.paths == ["/v2/sip"] and server.logins == 0


def paper_spec(server: MarketDataStreamServer) -> dict[str, Any]:
    return {
        "strategy": "sma_cross", "params": {"fast": 3, "slow": 8}, "symbols": SYMBOLS,
        "timeframe": "5m", "costs": {"commission": "0.1%", "slippage": "5bps"},
        "sizing": {"method": "fraction", "value": 0.3},
        "feed": {"source": "alpaca", "history_bars": 40, "stream": True,
                 "stream_url": server.url},
        "schedule": {"delay_seconds": 5},
    }  # fmt: skip


class Market:
    """The clock of a paper run and the exchange behind the stream: sleeping moves time on,
    and each minute that has ended by then is streamed (its bar is sent just after it ends)."""

    def __init__(self, server: MarketDataStreamServer, now: pd.Timestamp) -> None:
        self.server, self.now = server, now
        self.sent_until = now.floor("1min")
        self.stream: AlpacaBarStream | None = None

    def sleep(self, seconds: float) -> None:
        self.now += pd.Timedelta(seconds=max(seconds, 1.0))
        end = self.now.floor("1min")
        if self.stream is not None and end > self.sent_until:
            bars = minutes(str(self.sent_until), str(end - pd.Timedelta(minutes=1)))
            if len(bars):
                push(self.server, self.stream, bars)
            self.sent_until = end


def test_a_paper_run_on_the_stream_trades_like_a_replay_of_the_same_bars(
    tmp_path: Path,
    server: MarketDataStreamServer,
    rest: MinuteVendor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from alphaforge.config.specs import RunSpec
    from alphaforge.ledger import Ledger
    from alphaforge.services.paper import build_paper, run_paper
    from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
    from alphaforge.testing import vendor_servers

    monkeypatch.setattr(vendor_servers, "HISTORY_START", utc("2024-06-26"))  # a short history
    world = settings(home=tmp_path, alpaca_data_url=rest.url)
    market = Market(server, utc(f"{DAY} 14:00:30"))
    end = utc(f"{DAY} 19:00")
    spec = RunSpec.model_validate(paper_spec(server))
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = build_paper(spec, world, ledger, None, market.now)
        try:
            assert setup.feed.stream is not None
            history = setup.feed.stream.filled  # the warm-up bars, over REST
            market.stream = setup.feed.stream.stream  # type: ignore[assignment]
            run_paper(setup, lambda: market.now, market.sleep, lambda: market.now > end)
        finally:
            setup.close()
        fill = setup.feed.stream
        paper = [(t.symbol, t.side, t.entry_ts, t.exit_ts) for t in ledger.trades(setup.run_id)]
        first = setup.node.panel.index[setup.node.panel.shape[0] - setup.cycles]
        replay_spec = RunSpec.model_validate(
            {
                **paper_spec(server),
                "start": str(setup.origin),
                "end": str(setup.node.panel.index[-1]),
            }
        )
        replay = build_replay(replay_spec, world, ledger, ReplayRequest(None, None, None))
        run_replay(replay, None)
        same = [(t.symbol, t.side, t.entry_ts, t.exit_ts)
                for t in ledger.trades(replay.run_id) if t.entry_ts >= first.isoformat()]  # fmt: skip
        stored = setup.feed.store.read(SYMBOLS, "5m", utc(DAY), None).reset_index(drop=True)
        orders = {
            run: [(o.symbol, o.side, o.type, o.bar) for o in ledger.orders(run)
                  if o.bar >= first.isoformat()]
            for run in (setup.run_id, replay.run_id)
        }  # fmt: skip
    assert setup.skipped == [] and setup.cycles == 59  # every close 14:05 .. 18:55 traded
    # the first close's bars come over REST (the stream began inside the 14:00 bar), every
    # later bar from the stream: 58 closes x 2 symbols
    assert history == 2 * (3 * 78 + 6)  # Wednesday to Friday, Monday until 14:00
    assert fill.filled - history == 2 and fill.streamed == 116
    truth = by_hand(minutes(f"{DAY} 13:30", f"{DAY} 18:54"), "5m")  # up to the 18:50 bar
    pd.testing.assert_frame_equal(stored[truth.columns], truth, check_dtype=False)
    assert len(paper) >= 3
    assert paper == same
    assert orders[setup.run_id] == orders[replay.run_id]  # streaming moved no decision
