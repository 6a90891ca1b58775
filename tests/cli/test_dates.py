"""Dates of a run: an end before the start is refused by name (it used to read "no bars between
2020-01-01 and 2019-01-01"), and a period outside the data says which period the data cover
(it used to read "no bars between 2030-01-01 and None")."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke, refused, tree_hash

pytestmark = pytest.mark.integration

BT = ("backtest", "sma_cross", "-s", "SYN01", "-q")


def _stored_range(home: Path, symbol: str) -> tuple[str, str]:
    """First and last day of ``symbol``'s daily bars, read from the store's Parquet files."""
    stored = home / "store" / "bars" / "timeframe=1d" / f"symbol={symbol}.parquet"
    stamps = pd.read_parquet(stored, columns=["timestamp"])["timestamp"]
    return f"{stamps.min():%Y-%m-%d}", f"{stamps.max():%Y-%m-%d}"


def test_config_end_before_start(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG + "start: 2020-01-01\nend: 2019-01-01\n")
    before = tree_hash(af_home)
    refused(invoke(af_home, "backtest", "-c", str(config), "-q"),
            "run.yaml", "end", "2019-01-01", "before start 2020-01-01")  # fmt: skip
    assert tree_hash(af_home) == before


def test_command_line_end_before_start(af_home: Path) -> None:
    res = invoke(af_home, *BT, "--start", "2015-06-01", "--end", "2015-01-31")
    refused(res, "end", "2015-01-31", "before start 2015-06-01")


def test_same_instant_in_two_time_zones_is_not_before(af_home: Path) -> None:
    """2015-06-01 00:00+05:00 is 2015-05-31 19:00 UTC: an end at 20:00 UTC is after it."""
    res = invoke(af_home, *BT, "--start", "2015-06-01T00:00+05:00", "--end", "2015-05-31T20:00Z")
    assert "before start" not in res.output


def test_replay_to_before_from(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "paper.yaml"
    config.write_text(REPLAY_CONFIG)
    before = tree_hash(af_home)
    res = invoke(af_home, "paper", "--config", str(config), "--replay",
                 "--from", "2015-12-31", "--to", "2015-01-02", "-q")  # fmt: skip
    refused(res, "--to 2015-01-02", "before --from 2015-12-31")
    assert tree_hash(af_home) == before


@pytest.mark.parametrize(
    ("args", "when"),
    [
        (("--start", "2030-01-01"), "no bars from 2030-01-01 on"),
        (("--end", "2000-01-03"), "no bars up to 2000-01-03"),
        (("--start", "2030-01-01", "--end", "2030-02-01"), "no bars between 2030-01-01 and 2030-02-01"),
    ],
    ids=["start-after-data", "end-before-data", "period-after-data"],
)  # fmt: skip
def test_period_outside_the_data_names_the_data_range(
    af_home: Path, args: tuple[str, ...], when: str
) -> None:
    first, last = _stored_range(af_home, "SYN01")
    res = invoke(af_home, *BT, *args)
    err = refused(res, when, f"the data run from {first} to {last}")
    assert "None" not in err
    assert res.exit_code == 2  # a period refused is bad input, not a run that failed


def test_replay_period_outside_the_data(af_home: Path, tmp_path: Path) -> None:
    """A replay of a period the data do not cover is refused as bad input (it exited 1, the
    code of a run that failed), naming the period and the data's range, with no ledger left."""
    config = tmp_path / "paper.yaml"
    config.write_text(REPLAY_CONFIG)
    first, last = _stored_range(af_home, "SYN01")
    before = tree_hash(af_home)
    res = invoke(af_home, "paper", "--config", str(config), "--replay",
                 "--from", "2031-01-02", "--to", "2031-12-31", "-q")  # fmt: skip
    refused(
        res, "no bars between 2031-01-02 and 2031-12-31", f"the data run from {first} to {last}"
    )
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


ML_CONFIG = """\
name: dates
symbols: [SYN01, SYN02]
start: 2014-06-02
end: 2014-01-02
features:
  - returns: {windows: [1, 5]}
"""


def test_ml_spec_end_before_start(tmp_path: Path) -> None:
    """It used to get as far as reading the data: "no bars between 2014-06-02 and 2014-01-02"."""
    config = tmp_path / "ml.yaml"
    config.write_text(ML_CONFIG)
    home = tmp_path / "home"
    err = refused(invoke(home, "ml", "train", "--config", str(config)))
    assert err == f"error: {config}: end: before start 2014-06-02 (got '2014-01-02')"
    assert not (home / "models").exists()


def test_ml_spec_end_after_start_in_another_zone(tmp_path: Path) -> None:
    """2014-06-02 00:00+05:00 is 2014-06-01 19:00 UTC: an end at 20:00 UTC is after it."""
    from alphaforge.ml.spec import load_ml_spec

    config = tmp_path / "ml.yaml"
    config.write_text(
        ML_CONFIG.replace("start: 2014-06-02", "start: 2014-06-02T00:00+05:00").replace(
            "end: 2014-01-02", "end: 2014-06-01T20:00Z"
        )
    )
    assert load_ml_spec(config).end == "2014-06-01T20:00Z"
