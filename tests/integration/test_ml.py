"""``alphaforge ml`` end to end on real daily bars, and its one-line errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.ml.registry import load_version
from alphaforge.services.backtest import load_data_file
from alphaforge.strategy.base import Signals, StrategyData
from alphaforge.strategy.library.ml_signal import probabilities
from alphaforge.strategy.lookahead import check_lookahead
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration
runner = CliRunner()
SYMBOLS = ["MSFT", "JPM", "XOM"]


def _cli(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})


def _config(tmp_path: Path, **changes: object) -> Path:
    spec: dict[str, object] = {
        "name": "real",
        "symbols": SYMBOLS,
        "data": str(shared_data_file("us_equities_daily.parquet")),
        "start": "2013-01-01",
        "end": "2019-12-31",
        "features": [
            {"returns": {"windows": [1, 5, 20]}},
            {"volatility": {"windows": [20]}},
            {"indicator": {"name": "rsi", "period": 14}},
            {"beta": {"window": 60}},
            {"amihud": {"window": 20}},
        ],
        "label": {"kind": "fixed", "horizon": 5},
        "model": {"kind": "logistic"},
        "cv": {"folds": 3, "embargo": 0.01, "min_samples": 100},
        "walk_forward": {"every": 126, "train_bars": 504},
        "strategy": {"entry": 0.52, "exit": 0.5},
    }
    spec.update(changes)
    path = tmp_path / "ml.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_ml_train_evaluate_list_show_on_real_data(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = _cli(home, "ml", "train", "--config", str(_config(tmp_path)))
    assert out.exit_code == 0, out.output
    version_dir = home / "models" / "real" / "v1"
    assert "model: real/v1" in out.output
    meta = json.loads((version_dir / "metadata.json").read_text())
    assert len(meta["cv_scores"]) == 3 and meta["walk_forward_scores"]

    ev = _cli(home, "ml", "evaluate", "real/v1")
    assert ev.exit_code == 0, ev.output
    body = json.loads((version_dir / "evaluation.json").read_text())
    assert (version_dir / "oos_tearsheet.html").stat().st_size > 10_000
    # the pooled OOS AUC is sklearn's AUC of the stored walk-forward probabilities against
    # labels computed independently here from the same bars
    panel = load_data_file(shared_data_file("us_equities_daily.parquet"), SYMBOLS)
    panel = panel.slice(pd.Timestamp("2013-01-01", tz="UTC"), pd.Timestamp("2019-12-31", tz="UTC"))
    version = load_version(version_dir)
    proba = probabilities(version, StrategyData(panel))
    close = panel.close
    y = np.full(close.shape, np.nan)
    y[:-5] = (close[5:] / close[:-5] - 1 > 0) * 1.0
    ok = np.isfinite(y) & np.isfinite(proba)
    assert body["oos_pooled"]["rows"] == int(ok.sum())
    assert body["oos_pooled"]["auc"] == pytest.approx(roc_auc_score(y[ok], proba[ok]))
    assert 0.4 < body["oos_pooled"]["auc"] < 0.6  # daily equities: no large edge expected
    assert body["backtest"]["num_trades"] > 0
    assert 0.0 <= body["importance_stability"] <= 1.0
    assert body["gate"]["verdict"] and {r["criterion"] for r in body["gate"]["rows"]} >= {"sharpe"}
    # one version under the name: said so, and the DSR is the PSR against 0
    search = body["search"]
    assert search["n_configurations"] == 1 and search["pbo"] is None
    assert search["dsr"]["n_trials"] == 1 and search["dsr"]["dsr"] == search["dsr"]["psr"]
    assert "1 configuration tried" in ev.output and "one configuration tried" in ev.output
    dsr_row = next(r for r in body["gate"]["rows"] if r["criterion"] == "dsr")
    assert dsr_row["value"] == pytest.approx(search["dsr"]["dsr"]) and dsr_row["status"] != "N/A"
    held = panel.close[panel.index.searchsorted(pd.Timestamp(body["oos_from"])) :]
    assert body["buy_and_hold_return"] == pytest.approx(np.nanmean(held[-1] / held[0] - 1))
    report = check_lookahead(
        "ml_signal", panel, params={"model": str(version_dir)}, cuts=8, starts=0
    )
    assert report.ok, report.summary()

    listed = _cli(home, "ml", "list")
    assert listed.exit_code == 0 and "real/v1" in listed.output
    shown = _cli(home, "ml", "show", "real")
    assert shown.exit_code == 0 and meta["feature_hash"] in shown.output


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"features": ["calendar", "moon_phase"]}, "features[1]: unknown feature 'moon_phase'"),
        ({"label": {"horizon": 5000}}, "horizon: 5000 bars is longer than the data"),
        ({"cv": {"folds": 3, "min_samples": 5000}}, "fewer than min_samples 5000"),
        ({"model": {"kind": "svm"}}, "model.kind"),
        ({"colour": "red"}, "colour: unknown key"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, changes: dict, message: str
) -> None:
    home = tmp_path / "home"
    out = _cli(home, "ml", "train", "--config", str(_config(tmp_path, **changes)))
    assert out.exit_code != 0
    assert message in " ".join(out.output.split()), out.output
    assert len(out.output.strip().splitlines()) == 1, out.output
    assert not (home / "models" / "real").exists() or not any((home / "models" / "real").iterdir())


def test_unknown_version_is_refused(tmp_path: Path) -> None:
    out = _cli(tmp_path / "home", "ml", "evaluate", "nope/v1")
    assert out.exit_code != 0 and "no such model" in out.output


def test_the_example_config_is_valid_and_trains(tmp_path: Path) -> None:
    """examples/ml/ml.yaml as shipped, on a shorter range and with fewer trees."""
    example = Path(__file__).resolve().parents[2] / "examples" / "ml" / "ml.yaml"
    spec = yaml.safe_load(example.read_text())
    assert Path(spec["data"]).name == "us_equities_daily.parquet"
    spec["data"] = str(shared_data_file("us_equities_daily.parquet"))
    spec["start"] = "2014-01-01"
    spec["model"]["params"]["n_estimators"] = 30
    spec["walk_forward"] = {"every": 252, "train_bars": 504}
    path = tmp_path / "ml.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = _cli(tmp_path / "home", "ml", "train", "--config", str(path), "--quiet")
    assert out.exit_code == 0, out.output
    assert f"model: {spec['name']}/v1" in out.output


def test_the_stacking_example_is_a_valid_variant_of_the_example() -> None:
    from alphaforge.ml.spec import load_ml_spec

    folder = Path(__file__).resolve().parents[2] / "examples" / "ml"
    base, variant = load_ml_spec(folder / "ml.yaml"), load_ml_spec(folder / "ml_stacking.yaml")
    assert variant.name == base.name and variant.symbols == base.symbols  # one search
    assert variant.model.spec().kind == "stacking"
    assert any(s.kind == "sector_momentum" for s in variant.feature_set("x").specs)


def test_a_second_configuration_enters_the_dsr_and_pbo(tmp_path: Path) -> None:
    """Two versions under one name (logistic; stacking with sector momentum): evaluate counts
    both, deflates by them and computes the PBO over their shared OOS bars."""
    home = tmp_path / "home"
    first = _config(tmp_path)
    assert _cli(home, "ml", "train", "--config", str(first), "--quiet").exit_code == 0
    second = _config(
        tmp_path,
        features=[{"returns": {"windows": [1, 5, 20]}}, {"sector_momentum": {"windows": [20]}}],
        sectors={"MSFT": "Information Technology", "JPM": "Financials", "XOM": "Energy"},
        model={"ensemble": "stacking", "class_weight": "balanced",
               "members": [{"kind": "logistic"}, {"kind": "xgboost", "params": {"n_estimators": 20}}]},
    )  # fmt: skip
    out = _cli(home, "ml", "train", "--config", str(second), "--quiet")
    assert out.exit_code == 0, out.output
    meta = json.loads((home / "models" / "real" / "v2" / "metadata.json").read_text())
    assert meta["model"]["kind"] == "stacking" and "sector_ret_20" in meta["feature_names"]
    ev = _cli(home, "ml", "evaluate", "real/v2", "--blocks", "8")
    assert ev.exit_code == 0, ev.output
    body = json.loads((home / "models" / "real" / "v2" / "evaluation.json").read_text())
    search = body["search"]
    assert search["n_configurations"] == 2 and search["dsr"]["n_trials"] == 2
    assert search["pbo"]["n_blocks"] == 8 and 0.0 <= search["pbo"]["pbo"] <= 1.0
    assert [c["model"] for c in search["configurations"]] == ["real/v1", "real/v2"]
    assert search["dsr"]["dsr"] <= search["dsr"]["psr"]  # deflating never raises the PSR
    pbo_row = next(r for r in body["gate"]["rows"] if r["criterion"] == "pbo")
    assert pbo_row["value"] == pytest.approx(search["pbo"]["pbo"])
    assert "2 configurations tried" in ev.output and "stacking(logistic+xgboost)" in ev.output
    bad = _cli(home, "ml", "evaluate", "real/v2", "--blocks", "7")
    assert bad.exit_code != 0 and "--blocks: 7" in bad.output


def test_meta_labels_on_a_primary_strategy(tmp_path: Path) -> None:
    """Meta-labels on sma_cross: ml_signal only takes the primary's entries, and is causal."""
    from alphaforge.strategy.library.ml_signal import MlSignal
    from alphaforge.strategy.registry import make_strategy

    home = tmp_path / "home"
    label = {"kind": "meta", "horizon": 10, "vol_window": 20,
             "primary": {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}}  # fmt: skip
    cfg = _config(tmp_path, start="2008-01-01", label=label,
                  cv={"folds": 3, "embargo": 0.01, "min_samples": 20},
                  walk_forward={"every": 252, "train_bars": 756})  # fmt: skip
    out = _cli(home, "ml", "train", "--config", str(cfg), "--quiet")
    assert out.exit_code == 0, out.output
    version_dir = home / "models" / "real" / "v1"
    ev = _cli(home, "ml", "evaluate", "real", "--quiet")
    assert ev.exit_code == 0, ev.output
    panel = load_data_file(shared_data_file("us_equities_daily.parquet"), SYMBOLS)
    panel = panel.slice(pd.Timestamp("2008-01-01", tz="UTC"), pd.Timestamp("2019-12-31", tz="UTC"))
    mine = MlSignal(model=str(version_dir)).signals(StrategyData(panel))
    primary = make_strategy("sma_cross", {"fast": 5, "slow": 20}).signals(StrategyData(panel))
    assert isinstance(primary, Signals)
    assert mine.entries.any()
    assert not (mine.entries & ~primary.entries).any()
    np.testing.assert_array_equal(mine.exits, primary.exits)
    report = check_lookahead(
        "ml_signal", panel, params={"model": str(version_dir)}, cuts=6, starts=0
    )
    assert report.ok, report.summary()


def test_missing_config_is_one_line(tmp_path: Path) -> None:
    out = _cli(tmp_path / "home", "ml", "train", "--config", str(tmp_path / "nope.yaml"))
    assert out.exit_code != 0
    assert "nope.yaml: no such config file" in out.output
    assert len(out.output.strip().splitlines()) == 1
