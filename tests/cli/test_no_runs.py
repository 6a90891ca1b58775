"""A home with no run: every command that shows a run exits 1 with one line (they used to exit
0, 1 or 2 depending on the command); ``status`` is a status report and says so with exit 0.
None of them creates a ledger in the home. A run id that names no run is a refused argument:
exit 2 with the same line from every command."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphaforge.ledger import Ledger
from tests.cli.conftest import invoke, refused

pytestmark = pytest.mark.integration

NO_RUNS = "no runs yet: start one with alphaforge paper --config ..."


@pytest.mark.parametrize(
    "args",
    [("pnl",), ("positions",), ("export", "trades", "--csv", "{tmp}/t.csv"), ("drift",),
     ("reconcile",)],
    ids=["pnl", "positions", "export", "drift", "reconcile"],
)  # fmt: skip
def test_a_command_with_nothing_to_show_exits_1(tmp_path: Path, args: tuple[str, ...]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    res = invoke(home, *(a.format(tmp=tmp_path) for a in args))
    assert refused(res) == f"error: {NO_RUNS}"
    assert res.exit_code == 1
    assert not (tmp_path / "t.csv").exists()
    assert list(home.iterdir()) == []  # no ledger.db created by a command that only reads


_READS = [("pnl",), ("positions",), ("orders",), ("fills",), ("status",),
          ("export", "trades", "--csv", "{tmp}/t.csv"), ("reconcile",)]  # fmt: skip


@pytest.mark.parametrize("empty_ledger", [False, True], ids=["no-ledger", "ledger-without-the-run"])
@pytest.mark.parametrize("args", _READS, ids=lambda a: a[0])
def test_an_unknown_run_id_is_refused_with_exit_2(
    tmp_path: Path, args: tuple[str, ...], empty_ledger: bool
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    if empty_ledger:  # a ledger without the run
        Ledger.open(f"sqlite:///{home / 'ledger.db'}").close()
    res = invoke(home, *(a.format(tmp=tmp_path) for a in args), "--run", "nope")
    assert (
        refused(res) == f"error: --run nope: no such run in the ledger sqlite:///{home}/ledger.db"
    )
    assert res.exit_code == 2
    assert [p.name for p in home.iterdir()] == (["ledger.db"] if empty_ledger else [])


def test_drift_of_an_unknown_run_is_refused_with_exit_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    res = invoke(home, "drift", "nope")
    assert refused(res) == f"error: run nope: no such run in the ledger sqlite:///{home}/ledger.db"
    assert res.exit_code == 2 and list(home.iterdir()) == []


def test_resume_in_an_empty_home_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    res = invoke(home, "resume")
    assert res.exit_code == 0 and res.output.strip() == "not halted: nothing to resume"
    assert list(home.iterdir()) == []


def test_status_reports_no_runs_and_exits_0(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    res = invoke(home, "status")
    assert res.exit_code == 0 and res.output.strip() == NO_RUNS
    assert list(home.iterdir()) == []


def test_the_rule_is_in_the_help(tmp_path: Path) -> None:
    res = invoke(tmp_path / "home", "--help")
    assert "Exit codes:" in res.output and "no runs yet" in " ".join(res.output.split())


@pytest.mark.parametrize(
    ("extra", "names"),
    [({}, ("broker.name: alpaca", "ALPHAFORGE_ALPACA_API_KEY")),
     ({"ALPHAFORGE_ALPACA_API_KEY": "key"}, ("ALPHAFORGE_ALPACA_SECRET_KEY",)),
     ({"feed": "polygon"}, ("feed.source: polygon", "ALPHAFORGE_POLYGON_API_KEY"))],
    ids=["no-key", "no-secret", "feed"],
)  # fmt: skip
def test_paper_without_credentials_is_refused_before_the_ledger_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, str],
    names: tuple[str, ...],
) -> None:  # fmt: skip
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(tmp_path)  # no .env here
    for var in ("ALPHAFORGE_ALPACA_API_KEY", "ALPHAFORGE_ALPACA_SECRET_KEY",
                "ALPHAFORGE_POLYGON_API_KEY"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    feed = extra.pop("feed", None)
    for var, value in extra.items():
        monkeypatch.setenv(var, value)
    config = tmp_path / "run.yaml"
    broker = "{name: simulated}" if feed else "{name: alpaca}"
    config.write_text(
        "strategy: sma_cross\nsymbols: [SYN01]\ntimeframe: 1d\n"
        f"broker: {broker}\nfeed: {{source: {feed or 'store'}}}\n"
    )
    res = invoke(home, "paper", "--config", str(config))
    assert refused(res, str(config), *names)
    assert res.exit_code == 2
    assert list(home.iterdir()) == []  # nothing written: no ledger.db


@pytest.mark.parametrize("account", [False, True], ids=["one-strategy", "account"])
def test_a_replay_refused_before_it_starts_leaves_no_ledger_and_no_log(
    tmp_path: Path, account: bool
) -> None:
    """No bars of the config's symbols in the store: the replay is refused after the ledger
    was opened, and the ledger file it made (and any log) is removed again."""
    home = tmp_path / "home"
    home.mkdir()
    examples = Path(__file__).parents[2] / "examples"
    config = examples / ("paper_account.yaml" if account else "paper_sma.yaml")
    res = invoke(home, "paper", "--config", str(config), "--replay", "--from", "2019-01-02",
                 "--to", "2019-03-01")  # fmt: skip
    assert refused(res, "SYN01")
    assert list(home.iterdir()) == []


def test_a_replay_of_too_few_bars_is_refused_naming_its_period(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert invoke(home, "data", "sample").exit_code == 0
    config = Path(__file__).parents[2] / "examples" / "paper_sma.yaml"
    res = invoke(home, "paper", "--config", str(config), "--replay", "--from", "2019-01-02",
                 "--to", "2019-01-03")  # fmt: skip
    assert refused(res, "at least 3 bars", "got 2 (2019-01-02 .. 2019-01-03)", "--from / --to")
    assert res.exit_code == 2  # a period error, as the warm-up refusal of a short period
    assert sorted(p.name for p in home.iterdir()) == ["store"]  # no ledger, no log


def test_a_replay_whose_orders_the_risk_gate_refused_says_how_many(tmp_path: Path) -> None:
    """``runtime.max_order_value: 1`` refuses every entry: the summary used to say "0 order
    records (0 rejected)" and nothing else."""
    home = tmp_path / "home"
    assert invoke(home, "data", "sample").exit_code == 0
    example = Path(__file__).parents[2] / "examples" / "paper_sma.yaml"
    text = example.read_text()
    assert "runtime: {price_band: 0.5}" in text
    config = tmp_path / "tiny.yaml"
    config.write_text(text.replace("runtime: {price_band: 0.5}",
                                   "runtime: {price_band: 0.5, max_order_value: 1}"))  # fmt: skip
    res = invoke(home, "paper", "--config", str(config), "--replay", "--from", "2019-01-02",
                 "--to", "2019-12-31", "-q")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (
        "0 order records (0 rejected by the sizing and risk rules: not_sent in the log); "
        "3 refused by the risk gate"
    ) in " ".join(res.stdout.split())


def test_a_finished_replay_started_again_says_it_is_complete(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert invoke(home, "data", "sample").exit_code == 0
    config = str(Path(__file__).parents[2] / "examples" / "paper_sma.yaml")
    args = ("paper", "--config", config, "--replay", "--from", "2019-01-02", "--to",
            "2019-12-31", "-q", "--run-id", "r1")  # fmt: skip
    assert invoke(home, *args).exit_code == 0
    again = invoke(home, *args)
    assert again.exit_code == 0
    said = " ".join(again.stdout.split())
    assert "replay r1: already replayed to its last bar (2019-12-31 00:00)" in said
    assert "0 bars" not in said


def test_a_replay_shorter_than_the_warm_up_is_refused_as_its_backtest_is(tmp_path: Path) -> None:
    """41 bars for an SMA of 100: the backtest of the period is refused; the replay used to run
    them and say 0 trades."""
    home = tmp_path / "home"
    assert invoke(home, "data", "sample").exit_code == 0
    config = str(Path(__file__).parents[2] / "examples" / "paper_sma.yaml")
    res = invoke(home, "paper", "--config", config, "--replay", "--from", "2019-01-02", "--to",
                 "2019-03-01", "-q")  # fmt: skip
    assert refused(res, config, "only 41 bar(s)", "warm-up of 100", "earlier --from")
    assert res.exit_code == 2  # bad input, as a period outside the data is
    assert sorted(p.name for p in home.iterdir()) == ["store"]
    bt = invoke(home, "backtest", "-c", config, "--start", "2019-01-02", "--end", "2019-03-01")
    assert refused(bt, "only 41 bar(s)", "warm-up of 100")
    assert bt.exit_code == 2
