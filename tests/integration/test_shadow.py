"""Shadow mode: an ML strategy runs beside the strategy that trades, records its predictions
and would-be orders on the simulated venue and never reaches the broker; ``drift SHADOW
--against RUN`` compares the two runs from the ledger.

The expected numbers are computed here from the ledger's own tables (equity snapshots, round
trips, signals), independently of the report's code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.ledger import Ledger
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration

BASE: dict[str, Any] = {
    "symbols": ["MSFT", "JPM"], "timeframe": "1d", "cash": 100000,
    "costs": {"commission": "0.1%", "slippage": "5bps"},
    "sizing": {"method": "fraction", "value": 0.4},
}  # fmt: skip
ACTUAL = {**BASE, "strategy": "sma_cross", "params": {"fast": 10, "slow": 50}}
# the broker section names Alpaca, without credentials: a shadow run must never reach it
SHADOW = {**BASE, "strategy": "ml_signal", "params": {"train_bars": 250, "entry": 0.52},
          "broker": {"name": "alpaca"}}  # fmt: skip
PERIOD = ["--from", "2013-01-01", "--to", "2016-12-31"]


def _cli(home: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--home", str(home), *args])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("shadow")
    home = tmp / "home"
    data = str(shared_data_file("us_equities_daily.parquet"))
    for name, spec in (("actual", ACTUAL), ("shadow", SHADOW)):
        (tmp / f"{name}.yaml").write_text(yaml.safe_dump({**spec, "data": data}))
    out = _cli(home, "paper", "--config", str(tmp / "actual.yaml"), "--replay", *PERIOD,
               "--run-id", "actual", "-q")  # fmt: skip
    assert out.exit_code == 0, out.output
    out = _cli(home, "paper", "--config", str(tmp / "shadow.yaml"), "--replay", "--shadow",
               *PERIOD, "--run-id", "shadow", "-q")  # fmt: skip
    assert out.exit_code == 0, out.output
    report = tmp / "shadow.json"
    cmp = _cli(home, "drift", "shadow", "--against", "actual", "--json", str(report))
    return {"home": home, "tmp": tmp, "cmp": cmp, "report": json.loads(report.read_text())}


def test_a_shadow_run_never_reaches_the_broker_and_logs_predictions(runs: dict[str, Any]) -> None:
    ledger = Ledger.open(f"sqlite:///{runs['home'] / 'ledger.db'}")
    try:
        run = ledger.run("shadow")
        assert run is not None and run.mode == "shadow" and run.venue == "simulated"
        assert json.loads(run.config_text)["runtime"]["shadow"] is True
        preds = [v for _b, _s, v in ledger.signals("shadow") if "p=" in v]
        bars = len(ledger.equity_curve("shadow"))
        # a prediction per symbol per bar once the inline model has been fitted
        assert len(preds) > bars  # two symbols
        values = [float(p.split("p=")[1].split(",")[0]) for p in preds]
        assert all(0.0 <= v <= 1.0 for v in values)
        assert [o for o in ledger.orders("shadow") if o.intent == "entry"]  # would-be orders
    finally:
        ledger.close()


def test_shadow_against_actual_numbers(runs: dict[str, Any]) -> None:
    cmp, r = runs["cmp"], runs["report"]
    assert cmp.exit_code == 0, cmp.output
    assert "Shadow shadow against actual" in cmp.output
    ledger = Ledger.open(f"sqlite:///{runs['home'] / 'ledger.db'}")
    try:
        es = ledger.equity_curve("shadow")["equity"].astype(float)
        ea = ledger.equity_curve("actual")["equity"].astype(float)
        common = es.index.intersection(ea.index)
        ts, ta = ledger.trades("shadow"), ledger.trades("actual")
        preds = [float(v.split("p=")[1].split(",")[0])
                 for _b, _s, v in ledger.signals("shadow") if "p=" in v]  # fmt: skip
    finally:
        ledger.close()
    assert r["bars"] == len(common) > 500
    for side, eq in (("shadow", es), ("actual", ea)):
        e = eq.loc[common]
        assert r[side]["total_return"] == pytest.approx(e.iloc[-1] / e.iloc[0] - 1.0, rel=1e-12)
    rs = es.loc[common].to_numpy()
    ra = ea.loc[common].to_numpy()
    d = rs[1:] / rs[:-1] - ra[1:] / ra[:-1]
    assert r["tracking_error"] == pytest.approx(np.std(d, ddof=1) * np.sqrt(252), rel=1e-9)
    keys_s = {(t.symbol, t.side, t.entry_ts) for t in ts}
    keys_a = {(t.symbol, t.side, t.entry_ts) for t in ta}
    assert r["matched"] == len(keys_s & keys_a)
    assert len(r["shadow_only"]) == len(keys_s - keys_a) > 0
    assert len(r["actual_only"]) == len(keys_a - keys_s) > 0
    assert r["shadow"]["trades"] == len(ts) and r["actual"]["trades"] == len(ta)
    assert r["predictions"] == len(preds)
    assert r["mean_prediction"] == pytest.approx(float(np.mean(preds)))


@pytest.mark.parametrize(
    ("argv", "culprit"),
    [
        (["drift", "--against", "actual"], "--against"),
        (["drift", "shadow", "--against", "actual", "--tolerance", "3%"], "--tolerance"),
        (["drift", "shadow", "--against", "nope"], "nope"),
    ],
)
def test_bad_shadow_comparisons_are_one_line(
    runs: dict[str, Any], argv: list[str], culprit: str
) -> None:
    out = _cli(runs["home"], *argv)
    assert out.exit_code == 2
    lines = [x for x in out.output.strip().splitlines() if x]
    assert len(lines) == 1 and culprit in lines[0] and "Traceback" not in out.output
