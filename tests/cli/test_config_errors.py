"""A run config's wrong strategy, parameter or timeframe is refused naming the config file, the
key and the value, for backtest, paper and live alike (the strategy's errors used to name only
the strategy, the timeframe's only the key), and live refuses before it asks for a confirmation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke, refused, tree_hash

pytestmark = pytest.mark.integration

# (id, text replaced, replacement, words the error names besides the file)
BROKEN = [
    ("param-text", "fast: 5", "fast: five", ("fast", "five")),
    ("param-inverted", "fast: 5, slow: 20", "fast: 30, slow: 20", ("fast", "slow")),
    ("strategy-unknown", "strategy: sma_cross", "strategy: sma_crossing", ("sma_crossing",)),
    ("timeframe-unknown", "timeframe: 1d", "timeframe: 1y", ("timeframe", "1y")),
    ("cash-bool", "cash: 100000", "cash: true", ("cash", "true / false")),  # was read as 1.0
    # an annual cash rate of 5,000% (or below -100%, which made equity NaN) ran and exited 0
    (
        "cash-rate-absurd",
        "cash: 100000",
        "cash: 100000\ncosts: {cash_rate: 50}",
        ("costs.cash_rate", "50"),
    ),
    (
        "cash-rate-negative",
        "cash: 100000",
        "cash: 100000\ncosts: {cash_rate: -2}",
        ("costs.cash_rate", "-2"),
    ),
    (
        "borrow-fee-absurd",
        "cash: 100000",
        "cash: 100000\ncosts: {borrow_fee: 50}",
        ("costs.borrow_fee", "50"),
    ),
]
BROKEN += [
    # an infinite or absurd leverage cap sized quantities of 1e302 shares: inf / NaN P&L, exit 0
    ("leverage-inf", "cash: 100000", "cash: 100000\nrisk: {max_gross_leverage: .inf}",
     ("risk.max_gross_leverage", "inf")),
    ("leverage-absurd", "cash: 100000", "cash: 100000\nrisk: {max_net_leverage: 1e300}",
     ("risk.max_net_leverage", "1e300")),
    # a NaN rate printed Sharpe '-', -3 ended in a TypeError, 5 (500%) ran
    ("risk-free-nan", "cash: 100000", "cash: 100000\nrisk_free: .nan", ("risk_free", "nan")),
    ("risk-free-negative", "cash: 100000", "cash: 100000\nrisk_free: -3", ("risk_free", "-3")),
    ("risk-free-absurd", "cash: 100000", "cash: 100000\nrisk_free: 5", ("risk_free", "5")),
    # settings that changed nothing: an endpoint for the in-process venue, a delay of forever
    ("broker-url-simulated", "broker: {name: simulated}",
     "broker: {name: simulated, base_url: 'http://127.0.0.1:1'}", ("base_url", "simulated")),
    ("broker-url-scheme", "broker: {name: simulated}",
     "broker: {name: alpaca, replay_url: 'ftp://x'}", ("broker.replay_url", "ftp://x")),
    # a stop of 2 ATRs never acted: the ATR of a million bars is never known
    ("atr-period-never", "cash: 100000", "cash: 100000\nexits: {stop_loss: 2atr, atr_period: 1000000}",
     ("exits.atr_period", "1000000", "never act")),
    ("date-not-iso", "cash: 100000", "cash: 100000\nstart: 01/02/2014", ("start", "YYYY-MM-DD")),
    ("delay-inf", "cash: 100000", "cash: 100000\nschedule: {delay_seconds: .inf}",
     ("schedule.delay_seconds", "inf")),
    # an empty list read as 'every symbol of the run'
    ("account-symbols-empty", "strategy: sma_cross\nparams: {fast: 5, slow: 20}\n",
     "strategies:\n  - {strategy: sma_cross, allocation: 0.5, symbols: []}\n",
     ("strategies[0].symbols", "[]")),
]  # fmt: skip
COMMANDS = {
    "backtest": ("backtest", "-q", "-c"),
    "paper": ("paper", "--replay", "--from", "2014-03-03", "--to", "2014-06-30", "-q", "--config"),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("old", "new", "names"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_config_names_the_file(
    af_home: Path, tmp_path: Path, command: str, old: str, new: str, names: tuple[str, ...]
) -> None:
    assert old in REPLAY_CONFIG
    config = tmp_path / "broken.yaml"
    config.write_text(REPLAY_CONFIG.replace(old, new))
    before = tree_hash(af_home)
    refused(invoke(af_home, *COMMANDS[command], str(config)), str(config), *names)
    assert tree_hash(af_home) == before


def test_live_refuses_a_bad_parameter_before_asking(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "live.yaml"
    config.write_text(
        REPLAY_CONFIG.replace("fast: 5", "fast: five").replace("name: simulated", "name: alpaca")
        + "mode: live\nrisk: {max_weight: 0.5, daily_loss_limit: 0.02, max_drawdown: 0.1}\n"
    )
    before = tree_hash(af_home)
    # were the confirmation asked, it would be given
    res = invoke(af_home, "live", "--config", str(config), input="y\n")
    refused(res, str(config), "fast", "five")
    assert "Trade real money" not in res.output
    assert tree_hash(af_home) == before


def test_live_refuses_missing_broker_keys_before_asking(
    af_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The confirmation to trade real money was asked first, and the missing keys refused
    only once the user had said yes."""
    for key in ("ALPHAFORGE_ALPACA_API_KEY", "ALPHAFORGE_ALPACA_SECRET_KEY"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env here either
    config = tmp_path / "live.yaml"
    config.write_text(
        REPLAY_CONFIG.replace("name: simulated", "name: alpaca")
        + "mode: live\nrisk: {max_weight: 0.5, daily_loss_limit: 0.02, max_drawdown: 0.1}\n"
    )
    before = tree_hash(af_home)
    res = invoke(af_home, "live", "--config", str(config), input="y\n")
    refused(res, str(config), "ALPHAFORGE_ALPACA_API_KEY")
    assert "Trade real money" not in res.output
    assert tree_hash(af_home) == before


def test_timeframe_aliases_still_read(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "alias.yaml"
    config.write_text(REPLAY_CONFIG.replace("timeframe: 1d", "timeframe: 1D"))
    res = invoke(af_home, "backtest", "-q", "-c", str(config), "--json", str(tmp_path / "r.json"))
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.json").exists()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_missing_data_file_names_the_key_and_the_directory(
    af_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """A relative ``data:`` is read from the current directory, not the config's: the error
    says which one (examples/sma_cross.yaml reads ../shared/data from the project root)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    config = tmp_path / "conf" / "run.yaml"
    config.parent.mkdir()
    config.write_text(REPLAY_CONFIG + "data: ../shared/bars.parquet\n")
    before = tree_hash(af_home)
    res = invoke(af_home, *COMMANDS[command], str(config))
    refused(res, f"{config}: data: ../shared/bars.parquet", f"current directory {work}")
    assert tree_hash(af_home) == before


@pytest.mark.parametrize(
    "command",
    [
        ("sweep", "-q", "--grid", "fast=5,10", "-c"),
        ("walkforward", "-q", "--train-len", "100", "--test-len", "50", "-c"),
        ("lookahead", "-c"),
    ],
    ids=["sweep", "walkforward", "lookahead"],
)
def test_research_commands_name_the_config_of_an_unknown_strategy(
    af_home: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    config = tmp_path / "research.yaml"
    config.write_text(REPLAY_CONFIG.replace("strategy: sma_cross", "strategy: sma_crossing"))
    before = tree_hash(af_home)
    refused(invoke(af_home, *command, str(config)), str(config), "sma_crossing")
    assert tree_hash(af_home) == before


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://127.0.0.1:1/ledger?user=trader&password=QuerySecret9",
        "postgresql://trader:Qu@rySecret9@127.0.0.1:1/ledger",
    ],
)
def test_a_ledger_urls_password_is_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    """In the query (libpq's ``password=``) or with an unescaped ``@`` the driver misreads as
    the host's start, the password stays out of the one-line error."""
    monkeypatch.setenv("ALPHAFORGE_LEDGER_URL", url)
    res = invoke(tmp_path, "status")
    assert res.exit_code == 1 and res.output.startswith("error: ledger postgresql")
    for piece in ("QuerySecret9", "Qu@rySecret9", "rySecret9"):
        assert piece not in res.output, res.output
    assert "***" in res.output


def test_a_runtime_window_shorter_than_the_warm_up_is_refused(
    af_home: Path, tmp_path: Path
) -> None:
    """The strategy would see too few bars to ever signal: the replay ran, traded nothing and
    exited 0."""
    config = tmp_path / "window.yaml"
    config.write_text(REPLAY_CONFIG + "runtime: {window: 5}\n")
    before = tree_hash(af_home)
    res = invoke(af_home, *COMMANDS["paper"], str(config))
    err = refused(res, str(config), "runtime.window", "warm-up of 20 bars", "at least 21")
    assert "5 bars" in err
    assert tree_hash(af_home) == before


def test_a_corrupt_parquet_data_file_is_bad_input(af_home: Path, tmp_path: Path) -> None:
    """It was an 'unexpected error' (ArrowInvalid) with exit 1 from backtest and replay."""
    bad = tmp_path / "garbage.parquet"
    bad.write_text("not parquet at all")
    config = tmp_path / "g.yaml"
    config.write_text(REPLAY_CONFIG + f"data: {bad}\n")
    before = tree_hash(af_home)
    for args in (("backtest", "sma_cross", "-s", "SYN01", "--data", str(bad), "-q"),
                 (*COMMANDS["paper"], str(config)), ("data", "check", "--file", str(bad))):  # fmt: skip
        res = invoke(af_home, *args)
        assert res.exit_code == 2, (args, res.output)
        err = refused(res, str(bad), "parquet")
        assert "unexpected" not in err
    assert tree_hash(af_home) == before


def test_a_broken_bar_in_a_data_file_is_a_warning_of_the_run(af_home: Path, tmp_path: Path) -> None:
    """``data import`` noted a high below its low; a backtest or replay of the same file used
    it without a word (result warnings empty, exit 0)."""
    import json

    from alphaforge.data.sample import generate_daily

    bars = generate_daily(seed=7, n_symbols=1, start="2014-01-02", years=1)
    bars = bars[["symbol", "timestamp", "open", "high", "low", "close", "volume"]].copy()
    high = bars["high"].to_numpy(copy=True)
    high[100] = float(bars["low"].iloc[100]) - 1.0
    bars["high"] = high
    data = tmp_path / "hlow.csv"
    bars.to_csv(data, index=False)
    config = tmp_path / "hl.yaml"
    config.write_text(REPLAY_CONFIG + f"data: {data}\n")
    want = f"{data}, line 102: high below low"
    res = invoke(af_home, "backtest", "-c", str(config), "-q")
    assert res.exit_code == 0, res.output
    out = json.loads(next(af_home.rglob("result.json")).read_text())
    assert any(w.startswith(want) and "used as they are" in w for w in out["warnings"])
    res = invoke(af_home, *COMMANDS["paper"], str(config))
    assert res.exit_code == 0, res.output
    assert want in " ".join(res.output.split())


def test_a_bad_tick_is_noted_on_import_and_a_warning_of_the_run(
    af_home: Path, tmp_path: Path
) -> None:
    """A close 1,000 times too high (a price in tenths of a cent) was imported without a word,
    and a backtest of it reported a buy & hold volatility of 30,000 % with exit 0."""
    import json

    from alphaforge.data.sample import generate_daily

    bars = generate_daily(seed=7, n_symbols=1, start="2014-01-02", years=1)
    bars = bars[bars["symbol"] == "SYN01"]
    bars = bars[["symbol", "timestamp", "open", "high", "low", "close", "volume"]].copy()
    bars["symbol"] = "TICK"
    for col in ("open", "high", "low", "close"):
        values = bars[col].to_numpy(copy=True)
        values[100] *= 1000.0
        bars[col] = values
    data = tmp_path / "tick.csv"
    bars.to_csv(data, index=False)
    day = f"{bars['timestamp'].iloc[100]:%Y-%m-%d}"
    want = f"TICK {day}: close "
    res = invoke(af_home, "data", "import", str(data))
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert want in text and "(a bad tick?); 1 such bar(s); stored as they are" in text
    for args in (("backtest", "sma_cross", "-s", "TICK", "-q"),
                 ("backtest", "sma_cross", "-s", "TICK", "--data", str(data), "-q")):  # fmt: skip
        for old in af_home.rglob("result.json"):
            old.unlink()
        res = invoke(af_home, *args)
        assert res.exit_code == 0, res.output
        out = json.loads(next(af_home.rglob("result.json")).read_text())
        assert any(want in w and "used as they are" in w for w in out["warnings"]), out["warnings"]
    config = tmp_path / "tick.yaml"
    config.write_text(REPLAY_CONFIG.replace("SYN01", "TICK") + f"data: {data}\n")
    res = invoke(af_home, *COMMANDS["paper"], str(config))
    assert res.exit_code == 0, res.output
    assert want in " ".join(res.output.split())
