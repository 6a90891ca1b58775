"""The demo and the sample at the edges: the demo refuses a bad run config or seed before it
writes the sample (it wrote the sample, checked it and only then refused), and stops at a step
that failed (it went on to the next steps and printed an error for each); ``data sample`` names
a bad --start (an unexpected DateParseError) or --seed (an unexpected ValueError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke, refused

pytestmark = pytest.mark.integration


def test_demo_refuses_a_bad_config_before_writing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = tmp_path / "demo.yaml"
    config.write_text(REPLAY_CONFIG.replace("cash: 100000", "cash: -5"))
    refused(invoke(home, "demo", "--config", str(config)), str(config), "cash", "-5")
    assert not (home / "store").exists()
    config.write_text(REPLAY_CONFIG.replace("fast: 5", "fast: five"))
    refused(invoke(home, "demo", "--config", str(config)), str(config), "fast", "five")
    assert not (home / "store").exists()


@pytest.mark.parametrize("command", [("demo",), ("data", "sample")])
def test_negative_seed_is_a_usage_error(tmp_path: Path, command: tuple[str, ...]) -> None:
    home = tmp_path / "home"
    res = invoke(home, *command, "--seed", "-1")
    assert res.exit_code == 2 and "--seed" in res.output, res.output
    assert not (home / "store").exists()


@pytest.mark.parametrize("start", ["someday", "2019-02-30"])
def test_sample_start_not_a_date(tmp_path: Path, start: str) -> None:
    home = tmp_path / "home"
    refused(invoke(home, "data", "sample", "--start", start), "--start", start, "not a date")
    assert not (home / "store").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux procfs")
def test_demo_stops_at_the_step_that_failed() -> None:
    res = invoke(Path("/proc/alphaforge-demo"), "demo")  # no store can be written there
    assert res.exit_code != 0
    assert "1. SYNTHETIC sample market" in res.output
    assert "2. data quality" not in res.output and "3. backtest" not in res.output
    assert res.stderr.count("error:") == 1
