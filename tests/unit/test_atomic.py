"""Atomic writes: all or nothing, and ordinary permissions for the new file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alphaforge.atomic import atomic_write, atomic_write_text


def test_new_file_gets_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "sub" / "report.html", "<html></html>")
    finally:
        os.umask(old)
    assert path.read_text() == "<html></html>"
    assert path.stat().st_mode & 0o777 == 0o644  # not the 0600 of a temporary file


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = atomic_write_text(tmp_path / "a.json", "old")

    def broken(tmp: str) -> None:
        Path(tmp).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(path, broken)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
