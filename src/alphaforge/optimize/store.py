"""The sweep store: one directory per job under ``home/sweeps/<job id>``.

Layout::

    manifest.json          job description, finished parts, invalid trial ids
    trials/part-00001.parquet   metrics rows (trial_id, symbol, params..., metrics...)
    returns/part-00001.npy      trials x bars float32 bar returns (rows follow ids)
    returns/part-00001.ids.npy  trial ids of those rows

Parts are written to temp files and renamed, then the manifest is replaced atomically, so a
crash never leaves a half-written part listed. Query the trials with DuckDB::

    duckdb.sql("select * from 'HOME/sweeps/JOB/trials/*.parquet' order by sharpe desc")
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.atomic import atomic_write
from alphaforge.core.errors import StoreError
from alphaforge.optimize.worker import ChunkResult

MANIFEST = "manifest.json"


def _atomic_bytes(path: Path, write: Any) -> None:
    atomic_write(path, write)


class SweepStore:
    """Append-only chunks of trial results plus a manifest."""

    def __init__(self, root: Path, job: dict[str, Any]) -> None:
        self.root = root
        self.manifest = self._load_or_create(job)

    def _load_or_create(self, job: dict[str, Any]) -> dict[str, Any]:
        path = self.root / MANIFEST
        if path.exists():
            try:
                manifest: dict[str, Any] = json.loads(path.read_text())
            except json.JSONDecodeError as exc:
                raise StoreError(f"{path}: corrupt manifest ({exc.msg})") from None
            return manifest
        manifest = {"job": job, "parts": [], "invalid": [], "complete": False}
        self.root.mkdir(parents=True, exist_ok=True)
        self._write_manifest(manifest)
        return manifest

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=1, default=str)
        _atomic_bytes(self.root / MANIFEST, lambda tmp: Path(tmp).write_text(text))

    @property
    def done_ids(self) -> set[int]:
        """Trial ids already finished (run or rejected as invalid)."""
        ids: set[int] = set(self.manifest["invalid"])
        for part in self.manifest["parts"]:
            ids.update(part["ids"])
        return ids

    def append(self, chunk: ChunkResult) -> None:
        """Persist one finished chunk (rows, returns) and list it in the manifest."""
        seq = len(self.manifest["parts"]) + 1
        name = f"part-{seq:05d}"
        if chunk.rows:
            df = pd.DataFrame(chunk.rows)
            _atomic_bytes(
                self.root / "trials" / f"{name}.parquet",
                lambda tmp: df.to_parquet(tmp, index=False),
            )
        if chunk.returns is not None and len(chunk.trial_ids):
            ret, ids = chunk.returns, chunk.trial_ids
            _atomic_bytes(self.root / "returns" / f"{name}.npy", lambda t: _save_npy(t, ret))
            _atomic_bytes(self.root / "returns" / f"{name}.ids.npy", lambda t: _save_npy(t, ids))
        self.manifest["parts"].append(
            {"name": name, "ids": [int(i) for i in chunk.trial_ids], "rows": len(chunk.rows)}
        )
        self.manifest["invalid"] = sorted({*self.manifest["invalid"], *chunk.invalid})
        self._write_manifest(self.manifest)

    def mark(self, **fields: Any) -> None:
        """Record extra facts (completion, summary) in the manifest."""
        self.manifest.update(fields)
        self._write_manifest(self.manifest)

    def trials(self) -> pd.DataFrame:
        """Every stored row, sorted by trial id then symbol (independent of arrival order)."""
        frames = [
            pd.read_parquet(self.root / "trials" / f"{p['name']}.parquet")
            for p in self.manifest["parts"]
            if p["rows"]
        ]
        if not frames:
            return pd.DataFrame(columns=["trial_id", "symbol"])
        df = pd.concat(frames, ignore_index=True)
        return df.sort_values(["trial_id", "symbol"], kind="stable").reset_index(drop=True)

    def iter_returns(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(trial ids, trials x bars float32) per part, memory-mapped."""
        for p in self.manifest["parts"]:
            path = self.root / "returns" / f"{p['name']}.npy"
            if path.exists():
                ids = np.load(self.root / "returns" / f"{p['name']}.ids.npy")
                yield ids, np.load(path, mmap_mode="r")

    def returns_matrix(self, ids: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Returns of the given trials (all when None), rows sorted by trial id."""
        want = None if ids is None else set(ids)
        got_ids: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        for pid, mat in self.iter_returns():
            keep = np.ones(len(pid), bool) if want is None else np.isin(pid, list(want))
            got_ids.append(pid[keep])
            rows.append(np.asarray(mat[keep]))
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        all_ids, mat = np.concatenate(got_ids), np.vstack(rows)
        order = np.argsort(all_ids, kind="stable")
        return all_ids[order], mat[order]


def _save_npy(path: str, arr: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, arr)
