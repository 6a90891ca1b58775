"""``alphaforge data import`` of several files stores all of them or none: an error or Ctrl-C in
the second of three files leaves the store as it was, and the message says so."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.config.settings import AppSettings
from alphaforge.data.store import ParquetStore
from alphaforge.services import store as store_service

pytestmark = pytest.mark.integration


def cli(home: Path, *args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})
    return res.exit_code, res.stdout, res.stderr


def _csv(path: Path, symbol: str, start: str, closes: list[float], freq: str = "D") -> Path:
    ts = pd.date_range(start, periods=len(closes), freq=freq)
    fmt = "%Y-%m-%d" if freq == "D" else "%Y-%m-%dT%H:%M:%SZ"
    pd.DataFrame(
        {"symbol": symbol, "timestamp": ts.strftime(fmt), "open": closes, "high": closes,
         "low": closes, "close": closes, "volume": 100}
    ).to_csv(path, index=False)  # fmt: skip
    return path


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """A home holding OLD, and three files: A (good), B (a bad row on its line 3), C (good)."""
    home = tmp_path / "home"
    code, _, err = cli(
        home, "data", "import", str(_csv(tmp_path / "OLD.csv", "OLD", "2020-01-01", [1.0, 2.0]))
    )
    assert code == 0, err
    a = _csv(tmp_path / "A.csv", "AAA", "2020-01-01", [10.0, 11.0, 12.0])
    b = _csv(tmp_path / "B.csv", "BBB", "2020-01-01", [20.0, 21.0, 22.0])
    b.write_text(b.read_text().replace("2020-01-02", "2020-02-30"))  # no such date
    c = _csv(tmp_path / "C.csv", "CCC", "2020-01-01", [30.0, 31.0])
    return home, a, b, c


def test_an_error_in_the_second_file_stores_none(setup: tuple[Path, Path, Path, Path]) -> None:
    home, a, b, c = setup
    before = tree(home)
    code, _, err = cli(home, "data", "import", str(a), str(b), str(c))
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "B.csv" in lines[0] and "line 3" in lines[0]
    assert "no file was imported (at file 2 of 3)" in lines[0]
    assert tree(home) == before
    store = ParquetStore(AppSettings(home=home).store_dir)
    assert [i.symbol for i in store.list()] == ["OLD"]


def test_ctrl_c_in_the_second_file_stores_none(
    setup: tuple[Path, Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, a, b, c = setup
    _csv(b, "BBB", "2020-01-01", [20.0, 21.0, 22.0])  # a good file, interrupted while read
    read_bars = store_service.read_bars

    def interrupted(path: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        chunks = read_bars(path, *args, **kwargs)  # type: ignore[arg-type]
        if Path(path).name == "B.csv":
            yield next(chunks)
            raise KeyboardInterrupt
        yield from chunks

    monkeypatch.setattr(store_service, "read_bars", interrupted)
    before = tree(home)
    code, _, err = cli(home, "data", "import", str(a), str(b), str(c))
    assert code == 130
    assert err.strip() == (
        "error: interrupted; no file was imported (at file 2 of 3): an import stores all its "
        "files or none"
    )
    assert tree(home) == before


def test_good_files_are_stored_together_with_a_summary_per_file(
    setup: tuple[Path, Path, Path, Path], tmp_path: Path
) -> None:
    home, a, _, c = setup
    # A again from its third day with a new close (1 updated, 2 inserted), and hourly bars
    a2 = _csv(tmp_path / "A2.csv", "AAA", "2020-01-03", [99.0, 13.0, 14.0])
    h = _csv(tmp_path / "H.csv", "HHH", "2020-01-01", [1.0, 2.0, 3.0, 4.0], freq="h")
    code, out, err = cli(home, "data", "import", str(a), str(c), str(a2), str(h))
    assert code == 0, err
    rows = {ln.split("│")[1].strip(): [x.strip() for x in ln.split("│")[2:-1]]
            for ln in out.splitlines() if ln.startswith("│")}  # fmt: skip
    assert rows["A.csv"] == ["1d", "1", "3", "3", "0"]
    assert rows["C.csv"] == ["1d", "1", "2", "2", "0"]
    assert rows["A2.csv"] == ["1d", "1", "3", "2", "1"]
    assert rows["H.csv"] == ["1h", "1", "4", "4", "0"]
    assert "inserted=11 updated=1" in out
    store = ParquetStore(AppSettings(home=home).store_dir)
    assert store.read(["AAA"], "1d")["close"].tolist() == [10.0, 11.0, 99.0, 13.0, 14.0]
