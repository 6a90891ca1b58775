"""Thin pytest glue; fixtures live in :mod:`alphaforge.testing`."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphaforge.config.settings import AppSettings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, isolated ALPHAFORGE_HOME for one test."""
    h = tmp_path / "afhome"
    monkeypatch.setenv("ALPHAFORGE_HOME", str(h))
    return h


@pytest.fixture
def settings(home: Path) -> AppSettings:
    return AppSettings(home=home)
