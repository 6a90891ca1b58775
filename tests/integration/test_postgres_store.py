"""PostgresStore against the real local PostgreSQL, one schema per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import DataError, StoreError, UnknownSymbolError
from alphaforge.data.postgres_store import PostgresStore
from alphaforge.ports import BarStore
from alphaforge.services.store import load_panel, open_store
from alphaforge.testing import postgres_url

pytestmark = pytest.mark.integration


def bars(symbol: str, start: str, n: int, close: float = 10.0) -> pd.DataFrame:
    ts = pd.date_range(start, periods=n, freq="1D", tz="UTC")
    c = close + np.arange(n, dtype=float)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": ts,
            "open": c - 0.5,
            "high": c + 1,
            "low": c - 1,
            "close": c,
            "volume": np.full(n, 100.0),
        }
    )


@pytest.fixture
def pg() -> Iterator[tuple[str, str]]:
    url = postgres_url()
    schema = f"af_test_{uuid.uuid4().hex[:12]}"
    yield url, schema
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def store(pg: tuple[str, str]) -> Iterator[PostgresStore]:
    s = PostgresStore(pg[0], schema=pg[1])
    yield s
    s.engine.dispose()


def test_port_roundtrip_upsert_and_listing(store: PostgresStore) -> None:
    assert isinstance(store, BarStore)
    a = bars("A", "2020-01-01", 3)
    a["adj_close"] = a["close"] / 2
    s1 = store.write(pd.concat([a, bars("BTC/USDT", "2020-01-01", 2)]), "1d")
    assert (s1.inserted, s1.updated, s1.symbols) == (5, 0, ("A", "BTC/USDT"))
    s2 = store.write(a, "1d")
    assert (s2.inserted, s2.updated) == (0, 0)  # idempotent
    # Day 3 changes and days 4-5 are new: 2 inserted, 1 updated.
    s3 = store.write(bars("A", "2020-01-03", 3, close=50.0), "1d")
    assert (s3.inserted, s3.updated) == (2, 1)
    got = store.read(["A"], "1d")
    assert got["close"].tolist() == [10.0, 11.0, 50.0, 51.0, 52.0]
    assert str(got["timestamp"].dtype) == "datetime64[ns, UTC]"
    # The new rows carried no adj_close: later values win, so it is NaN there.
    assert got["adj_close"].isna().tolist() == [False, False, True, True, True]
    window = store.read(
        None, "1d", start=pd.Timestamp("2020-01-02"), end=pd.Timestamp("2020-01-02")
    )
    assert window[["symbol", "close"]].values.tolist() == [["A", 11.0], ["BTC/USDT", 11.0]]
    infos = store.list("1d")
    assert [(i.symbol, i.rows) for i in infos] == [("A", 5), ("BTC/USDT", 2)]
    assert infos[0].last == pd.Timestamp("2020-01-05", tz="UTC")
    assert store.last_timestamp("A", "1d") == pd.Timestamp("2020-01-05", tz="UTC")
    assert store.last_timestamp("A", "1h") is None


def test_chunked_write_is_one_transaction(store: PostgresStore) -> None:
    store.write(bars("A", "2020-01-01", 2), "1d")
    before = store.read(None, "1d")

    def chunks() -> Iterator[pd.DataFrame]:
        yield bars("A", "2020-01-01", 4, close=77.0)
        yield bars("B", "2020-01-01", 4)
        raise DataError("bad third chunk")

    with pytest.raises(DataError, match="third chunk"):
        store.write(chunks(), "1d")
    pd.testing.assert_frame_equal(store.read(None, "1d"), before)
    # Later chunks win over earlier ones for the same key.
    summary = store.write(
        iter([bars("A", "2020-01-01", 1, 5.0), bars("A", "2020-01-01", 1, 6.0)]), "1d"
    )
    assert (summary.inserted, summary.updated) == (0, 1)
    assert store.read(["A"], "1d")["close"].tolist() == [6.0, 11.0]


def test_unknown_symbol_and_delete(store: PostgresStore) -> None:
    assert store.read(None, "1d").empty
    store.write(bars("A", "2020-01-01", 2), "1d")
    with pytest.raises(UnknownSymbolError, match="'ZZZ'"):
        store.read(["A", "ZZZ"], "1d")
    store.delete("A", "1d")
    assert store.list() == []
    with pytest.raises(UnknownSymbolError):
        store.delete("A", "1d")


def test_open_store_uses_store_url_and_panel(pg: tuple[str, str], tmp_path: object) -> None:
    url, schema = pg
    settings = AppSettings(home=tmp_path, store_url=url)
    default = open_store(settings)
    assert isinstance(default, PostgresStore)
    default.engine.dispose()
    store = PostgresStore(url, schema=schema)
    store.write(pd.concat([bars("A", "2020-01-01", 2), bars("B", "2020-01-02", 2)]), "1d")
    panel = load_panel(store, None, "1d")
    assert panel.symbols == ("A", "B")
    assert np.isnan(panel.close[0, 1]) and panel.close[1].tolist() == [11.0, 10.0]
    store.engine.dispose()


def test_unreachable_server_is_a_one_line_store_error() -> None:
    bad = PostgresStore("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(StoreError) as err:
        bad.list()
    assert "secret" not in str(err.value)
    assert "\n" not in str(err.value)


def test_write_many_is_one_transaction(store: PostgresStore) -> None:
    store.write(bars("A", "2020-01-01", 2), "1d")
    before = store.read(None, "1d")

    def failing() -> Iterator[pd.DataFrame]:
        yield bars("C", "2020-01-01", 2)
        raise DataError("bad second part")

    with pytest.raises(DataError, match="second part"):
        store.write_many([("1d", [bars("B", "2020-01-01", 3)]), ("1d", failing())])
    pd.testing.assert_frame_equal(store.read(None, "1d"), before)
    assert [i.symbol for i in store.list()] == ["A"]
    # one summary per part, each against the store as the parts before it left it
    summaries = store.write_many(
        [
            ("1d", [bars("B", "2020-01-01", 3)]),
            ("1d", [bars("B", "2020-01-02", 3, close=40.0)]),  # 2 changed, 1 new
            ("1h", [bars("H", "2020-01-01", 2)]),
        ]
    )
    got = [(s.symbols, s.inserted, s.updated) for s in summaries]
    assert got == [(("B",), 3, 0), (("B",), 1, 2), (("H",), 2, 0)]
    assert store.read(["B"], "1d")["close"].tolist() == [10.0, 40.0, 41.0, 42.0]
    assert [(i.symbol, i.timeframe) for i in store.list()] == [
        ("A", "1d"), ("B", "1d"), ("H", "1h"),
    ]  # fmt: skip
