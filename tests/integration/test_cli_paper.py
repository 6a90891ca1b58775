"""``alphaforge paper --replay`` and ``alphaforge live`` through the real CLI entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import load_run_spec
from alphaforge.ledger import Ledger
from alphaforge.services.backtest import run_spec

pytestmark = pytest.mark.integration
runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "paper_sma.yaml"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    h = tmp_path_factory.mktemp("home")
    res = runner.invoke(app, ["--home", str(h), "data", "sample"])
    assert res.exit_code == 0, res.output
    return h


def test_paper_replay_writes_the_ledger_and_matches_the_backtest(home: Path) -> None:
    args = ["--home", str(home), "paper", "--config", str(EXAMPLE), "--replay",
            "--from", "2016-01-04", "--to", "2019-12-31", "--speed", "max", "-q"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "final equity" in res.output
    ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
    try:
        run = ledger.last_run()
        assert run is not None and run.mode == "replay"
        fills = ledger.fills(run.run_id)
        curve = ledger.equity_curve(run.run_id)
    finally:
        ledger.close()
    spec = load_run_spec(EXAMPLE, {"start": "2016-01-04", "end": "2019-12-31"})
    bt = run_spec(spec, AppSettings(home=home))
    n_fills = int((bt.order_records["status"] <= 1).sum())
    assert len(fills) == n_fills > 0
    assert float(curve["equity"].iloc[-1]) == pytest.approx(bt.final_equity, rel=1e-9)
    for cmd in (["status"], ["orders"], ["fills"], ["pnl"], ["positions"]):
        out = runner.invoke(app, ["--home", str(home), *cmd])
        assert out.exit_code == 0, (cmd, out.output)
        assert run.run_id in out.output or cmd == ["positions"]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--speed", "fast"], "--speed"),
        (["--from", "2019-02-30"], "--from"),
        # read as 2019-12-31 and 2019-01-02 (month first): dates are not guessed
        (["--from", "31/12/2019"], "write YYYY-MM-DD"),
        (["--to", "01/02/2019"], "write YYYY-MM-DD"),
    ],
)
def test_paper_bad_input_is_one_line_and_non_zero(
    home: Path, extra: list[str], needle: str
) -> None:
    res = runner.invoke(
        app, ["--home", str(home), "paper", "--config", str(EXAMPLE), "--replay", *extra]
    )
    assert res.exit_code != 0
    assert needle in res.output and "Traceback" not in res.output


def test_a_replays_pace_without_replay_is_refused(home: Path) -> None:
    """``--speed`` paces a replay; a paper run on the live clock took it (even garbage) and
    started without a word."""
    for speed in ("60x", "garbage"):
        res = runner.invoke(app, ["--home", str(home), "paper", "--config", str(EXAMPLE),
                                  "--speed", speed])  # fmt: skip
        assert res.exit_code == 2 and f"--speed {speed}" in res.output, res.output
        assert "goes with --replay" in res.output


def test_paper_refuses_settings_the_runtime_cannot_carry_out(home: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "close.yaml"
    cfg.write_text(EXAMPLE.read_text() + "fill: close\n")
    res = runner.invoke(app, ["--home", str(home), "paper", "--config", str(cfg), "--replay"])
    assert res.exit_code == 2
    assert "fill: close" in res.output


def test_live_refuses_without_mode_live_and_limits(home: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["--home", str(home), "live", "--config", str(EXAMPLE), "--yes"])
    assert res.exit_code == 2 and "mode: live" in res.output
    cfg = tmp_path / "live.yaml"
    cfg.write_text("strategy: sma_cross\nsymbols: [SYN01]\nmode: live\n")
    res = runner.invoke(app, ["--home", str(home), "live", "--config", str(cfg), "--yes"])
    assert res.exit_code == 2 and "risk.daily_loss_limit" in res.output


def test_live_needs_a_broker_and_paper_refuses_a_live_config(home: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "live.yaml"
    cfg.write_text(
        "strategy: sma_cross\nsymbols: [SYN01]\nmode: live\nsizing: {method: fraction, value: 0.1}\n"
        "risk: {daily_loss_limit: 0.02, max_drawdown: 0.1}\n"
    )
    res = runner.invoke(app, ["--home", str(home), "live", "--config", str(cfg), "--yes"])
    assert res.exit_code == 2 and "broker.name" in res.output and "simulated" in res.output
    res = runner.invoke(app, ["--home", str(home), "paper", "--config", str(cfg)])
    assert res.exit_code == 2 and "alphaforge live" in res.output


def test_paper_replay_on_the_shared_real_bars_then_drift_is_within_tolerance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alphaforge.testing import shared_data_file

    shared_data_file("us_equities_daily.parquet")  # skip (or fail on CI) without the data
    monkeypatch.chdir(Path(__file__).resolve().parents[2])  # the example's data: is relative
    home = str(tmp_path / "home")
    example = "examples/paper_sma_shared.yaml"
    res = runner.invoke(app, ["--home", home, "paper", "--config", example, "--replay",
                              "--from", "2015-01-02", "--to", "2019-12-31", "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    drift = runner.invoke(app, ["--home", home, "drift"])
    assert drift.exit_code == 0, drift.output
    assert "WITHIN TOLERANCE" in drift.output


@pytest.mark.parametrize("command", ["paper", "live"])
def test_a_stopped_shadow_run_says_how_to_continue_it(
    home: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """Ctrl-C on a shadow run: the hint gave the command without ``--shadow``, which the
    ledger then refused as another config."""
    import alphaforge.services.paper as paper_service

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(paper_service, "run_paper", interrupted)
    res = runner.invoke(app, ["--home", str(home), command, "--config", str(EXAMPLE),
                              "--shadow", "--run-id", f"sh-{command}", "-q"
                              ] if command == "paper" else
                        ["--home", str(home), command, "--config", str(EXAMPLE), "--shadow",
                         "--run-id", f"sh-{command}"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert out.startswith(f"shadow run sh-{command}")
    assert (f"continue with: alphaforge {command} --config {EXAMPLE} --shadow --run-id "
            f"sh-{command}") in out  # fmt: skip


def test_a_live_run_starts_on_the_broker_and_says_how_to_continue(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``live --yes`` on a local Alpaca stand-in (its live endpoint is the stand-in's URL): the
    run starts on the broker and a Ctrl-C names the command that continues it."""
    import alphaforge.services.paper as paper_service
    from alphaforge.testing.alpaca_broker import AlpacaBroker

    def interrupted(*_a: object, **_k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(paper_service, "run_paper", interrupted)
    with AlpacaBroker() as broker:
        cfg = tmp_path / "live.yaml"
        cfg.write_text(
            "strategy: sma_cross\nsymbols: [SYN01]\nmode: live\n"
            "sizing: {method: fraction, value: 0.1}\n"
            "risk: {daily_loss_limit: 0.02, max_drawdown: 0.1}\n"
            f"broker: {{name: alpaca, base_url: '{broker.url}', stream_url: '{broker.stream_url}'}}\n"
        )
        env = {"ALPHAFORGE_ALPACA_API_KEY": broker.api_key,
               "ALPHAFORGE_ALPACA_SECRET_KEY": broker.secret_key}  # fmt: skip
        res = runner.invoke(app, ["--home", str(home), "live", "--config", str(cfg), "--yes",
                                  "--run-id", "lv1"], env=env)  # fmt: skip
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "live run lv1 on alpaca" in out
    assert f"continue with: alphaforge live --config {cfg} --run-id lv1" in out
    assert broker.secret_key not in out
