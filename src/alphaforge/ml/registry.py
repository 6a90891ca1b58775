"""Versioned model artifacts on disk: ``<root>/<name>/<version>/`` (``root`` is HOME/models).

A version directory holds ``models.pkl`` (the walk-forward models, each with the first bar it
predicts, and the final model) and ``metadata.json`` (feature list and hash, symbols, data
range, label, model and CV settings, out-of-sample scores per fold, library versions). It is
written whole into a hidden directory and renamed into place, so a version either exists
complete or not at all. Loading refuses a version whose feature list no longer hashes to the
stored hash (the feature code changed) or differs from the feature list asked for.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.ml.features import FeatureSet, parse_features
from alphaforge.ml.models import FittedModel, dumps, loads

MODELS_FILE = "models.pkl"
META_FILE = "metadata.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class StoredModel:
    """A walk-forward model and the first bar (time) it predicts."""

    valid_from: pd.Timestamp
    model: FittedModel


@dataclass(frozen=True)
class ModelVersion:
    """A loaded version: where it lives, its metadata, its models in time order."""

    path: Path
    metadata: dict[str, Any]
    models: tuple[StoredModel, ...]
    features: FeatureSet

    @property
    def ref(self) -> str:
        return f"{self.metadata['name']}/{self.metadata['version']}"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"name: {name!r} is not a valid model name (letters, digits, _ . -)")
    return name


def _versions(root: Path, name: str) -> list[int]:
    base = root / name
    if not base.is_dir():
        return []
    found = [int(p.name[1:]) for p in base.iterdir() if re.fullmatch(r"v\d+", p.name)]
    return sorted(found)


def save_version(
    root: Path, name: str, models: list[StoredModel], metadata: dict[str, Any]
) -> ModelVersion:
    """Write a new version ``v<N+1>`` of ``name`` atomically and return it."""
    check_name(name)
    base = Path(root) / name
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=base, prefix=".incoming-"))
    try:
        (tmp / MODELS_FILE).write_bytes(
            dumps_models([(m.valid_from.isoformat(), m.model) for m in models])
        )
        for attempt in range(100):
            number = (_versions(root, name) or [0])[-1] + 1
            meta = {**metadata, "name": name, "version": f"v{number}"}
            (tmp / META_FILE).write_text(json.dumps(meta, indent=1, default=str))
            target = base / f"v{number}"
            try:
                os.rename(tmp, target)  # atomic; fails when another writer took the number
            except OSError:
                if attempt == 99:
                    raise
                continue
            return load_version(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    raise ConfigError(f"{base}: could not write a new version")  # pragma: no cover


def dumps_models(items: list[tuple[str, FittedModel]]) -> bytes:
    import pickle

    return pickle.dumps([(t, dumps(m)) for t, m in items], protocol=pickle.HIGHEST_PROTOCOL)


def resolve(root: Path, ref: str) -> Path:
    """The directory of ``ref``: ``name/vN``, ``name`` (its latest version) or a path."""
    p = Path(ref).expanduser()
    if (p / META_FILE).is_file():
        return p
    name, _, version = str(ref).partition("/")
    check_name(name)
    numbers = _versions(Path(root), name)
    if not numbers:
        known = (
            sorted(d.name for d in Path(root).iterdir() if d.is_dir())
            if Path(root).is_dir()
            else []
        )
        raise ConfigError(
            f"model {ref!r}: no such model under {root}"
            + (f"; known: {', '.join(known)}" if known else "")
        )
    if not version:
        return Path(root) / name / f"v{numbers[-1]}"
    if not re.fullmatch(r"v\d+", version) or int(version[1:]) not in numbers:
        raise ConfigError(
            f"model {ref!r}: no version {version!r}; versions: "
            + ", ".join(f"v{n}" for n in numbers)
        )
    return Path(root) / name / version


def load_version(path: Path | str, features: FeatureSet | None = None) -> ModelVersion:
    """Load a version directory; refuse it when its feature list no longer matches."""
    import pickle

    path = Path(path)
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise ConfigError(f"{path}: not a model version (no {META_FILE})")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{meta_path}: not valid JSON ({exc.msg})") from None
    current = parse_features(meta["features"], f"{meta_path}: features")
    ref = f"{meta.get('name')}/{meta.get('version')}"
    if current.hash != meta["feature_hash"]:
        raise ConfigError(
            f"model {ref}: its features hash to {current.hash} with this version of the feature "
            f"code, not the stored {meta['feature_hash']}; retrain it"
        )
    if features is not None and features.hash != meta["feature_hash"]:
        raise ConfigError(
            f"model {ref}: trained on feature set {meta['feature_hash']}, refused for feature "
            f"set {features.hash} (the feature lists differ); retrain it on these features"
        )
    raw = pickle.loads((path / MODELS_FILE).read_bytes())
    models = tuple(StoredModel(pd.Timestamp(t), loads(b)) for t, b in raw)
    return ModelVersion(path, meta, models, current)


def list_versions(root: Path) -> list[dict[str, Any]]:
    """Metadata of every stored version (name, version, created, model, AUC ...)."""
    out: list[dict[str, Any]] = []
    root = Path(root)
    if not root.is_dir():
        return out
    for base in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for n in _versions(root, base.name):
            meta_path = base / f"v{n}" / META_FILE
            try:
                out.append(json.loads(meta_path.read_text()))
            except (OSError, json.JSONDecodeError):
                continue
    return out
