"""The Python API page as written: its Python blocks run, in page order, on the sample data."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[3] / "docs" / "concepts" / "python-api.md"


def test_the_page_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), flags=re.S | re.M)
    assert blocks, f"{PAGE} has no Python example"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALPHAFORGE_HOME", str(tmp_path / "home"))
    scope: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(PAGE), "exec"), scope)  # the page's own code
    assert os.path.exists(tmp_path / "sma_cross.html")
    assert scope["swept"].engine == "batch"  # type: ignore[attr-defined]
