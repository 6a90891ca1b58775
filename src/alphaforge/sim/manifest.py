"""Reproducibility manifest: what it takes to rerun a backtest and get the same numbers."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from pathlib import Path
from typing import Any

import numpy as np

from alphaforge import __version__


def hash_arrays(*arrays: np.ndarray) -> str:
    """BLAKE2b of the arrays' bytes (shape and dtype included)."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        c = np.ascontiguousarray(a)
        h.update(str((c.shape, c.dtype.str)).encode())
        h.update(c.tobytes())
    return h.hexdigest()


def hash_config(config: dict[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[3]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def build_manifest(config: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Versions, the config hash and fill policy, plus ``extra`` (data hash, dates, ...).

    A backtest draws no random numbers, so there is no seed to record.
    """
    return {
        "alphaforge_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "config_hash": hash_config(config),
        "fill_policy": {
            "fill": config.get("fill"),
            "stop_on_entry_bar": config.get("exits", {}).get("stop_on_entry_bar"),
            "ambiguity": config.get("exits", {}).get("ambiguity"),
        },
        **extra,
    }
