"""``alphaforge report`` and ``alphaforge compare`` through the Typer app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.reports import output

runner = CliRunner()


@pytest.fixture(scope="module")
def saved(
    single_result: Any, portfolio_result: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("results")
    return single_result.to_json(d / "one.json"), portfolio_result.to_json(d / "three.json")


def test_report_defaults_beside_the_json(saved: tuple[Path, Path]) -> None:
    one, _ = saved
    res = runner.invoke(app, ["report", str(one)])
    assert res.exit_code == 0, res.output
    html = one.with_suffix(".html")
    assert html.exists()
    assert 'id="trades-table"' in html.read_text()


def test_report_output_and_title(saved: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "x" / "r.html"
    res = runner.invoke(app, ["report", str(saved[0]), "-o", str(out), "--title", "Run A"])
    assert res.exit_code == 0, res.output
    assert "<title>Run A</title>" in out.read_text()


def test_report_bad_file_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = runner.invoke(app, ["report", str(bad)])
    assert res.exit_code != 0
    assert "bad.json" in res.output and "not valid JSON" in res.output
    assert not (tmp_path / "bad.html").exists()


def test_png_without_engine_fails_clearly(
    saved: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable() -> None:
        raise output.ExportError("PNG export needs Chromium: install it")

    monkeypatch.setattr(output, "check_png_engine", unavailable)
    out = tmp_path / "r.html"
    res = runner.invoke(
        app, ["report", str(saved[0]), "-o", str(out), "--png", str(tmp_path / "png")]
    )
    assert res.exit_code != 0
    assert "PNG export needs Chromium" in res.output
    assert out.exists()  # the HTML report is still written
    assert not (tmp_path / "png").exists()


def test_compare_prints_table_and_writes_html(saved: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "cmp.html"
    res = runner.invoke(
        app, ["compare", str(saved[0]), str(saved[1]), "-o", str(out)], terminal_width=200
    )
    assert res.exit_code == 0, res.output
    assert "Sharpe" in res.output and "Max drawdown" in res.output
    assert 'id="chart-compare-equity"' in out.read_text()


def test_compare_needs_two_results(saved: tuple[Path, Path]) -> None:
    res = runner.invoke(app, ["compare", str(saved[0])])
    assert res.exit_code != 0
    assert "at least two" in res.output


def test_report_into_an_existing_directory(saved: tuple[Path, Path], tmp_path: Path) -> None:
    res = runner.invoke(app, ["report", str(saved[0]), "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "one.html").exists()


def test_png_target_that_is_a_file(
    saved: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "check_png_engine", lambda: None)  # engine present or not
    target = tmp_path / "taken"
    target.write_text("x")
    res = runner.invoke(
        app, ["report", str(saved[0]), "-o", str(tmp_path / "r.html"), "--png", str(target)]
    )
    assert res.exit_code != 0
    assert "is not a directory" in res.output
