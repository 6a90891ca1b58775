"""Where validations are kept, and the check behind ``paper/live --require-gate``.

Each validation is written to ``HOME/validations/<time>-<research hash>/validation.json``
(atomically). ``--require-gate`` finds the newest one whose research hash equals the run
config's (strategy, params, universe, costs and rules; see
:func:`~alphaforge.services.validate_targets.research_hash`) and refuses to start when there is
none, when it failed, or when the config file changed after it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alphaforge.atomic import atomic_write_text
from alphaforge.config.specs import RunSpec
from alphaforge.core.errors import ConfigError
from alphaforge.services.validate_targets import research_hash

SUBDIR = "validations"
FILE = "validation.json"


@dataclass(frozen=True)
class StoredValidation:
    """The header of a stored validation: enough to decide whether a run may start."""

    path: Path
    created: dt.datetime
    research_hash: str | None
    passed: bool
    failed: tuple[str, ...]
    target: str


def save(home: Path, body: dict[str, Any], created: dt.datetime, rhash: str | None) -> Path:
    """Write ``body`` as a new validation; never replaces another one."""
    root = home / SUBDIR
    stem = f"{created:%Y%m%d-%H%M%S}-{(rhash or 'nospec')[:8]}"
    for n in range(1000):
        directory = root / (stem if n == 0 else f"{stem}-{n}")
        try:
            directory.mkdir(parents=True, exist_ok=False)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - a thousand validations in one second
        raise ConfigError(f"{root}: too many validations in one second")
    text = json.dumps(body, indent=1, default=str, allow_nan=False)
    return atomic_write_text(directory / FILE, text)


def _read(path: Path) -> StoredValidation | None:
    try:
        raw = json.loads(path.read_text())
        gate = raw["gate"]
        return StoredValidation(
            path=path,
            created=dt.datetime.fromisoformat(raw["created"]),
            research_hash=raw.get("research_hash"),
            passed=bool(gate["passed"]),
            failed=tuple(str(r["criterion"]) for r in gate["rows"] if r["status"] == "FAIL"),
            target=str(raw.get("target", "?")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def latest(home: Path, rhash: str) -> StoredValidation | None:
    """The newest readable validation with research hash ``rhash``."""
    found = [
        v
        for p in sorted((home / SUBDIR).glob(f"*/{FILE}"))
        if (v := _read(p)) is not None and v.research_hash == rhash
    ]
    return max(found, key=lambda v: v.created) if found else None


def require_gate(spec: RunSpec, config: Path | None, home: Path) -> StoredValidation:
    """The passing validation that allows ``spec`` to trade; ConfigError naming why not."""
    where = str(config) if config else "the run config"
    rhash = research_hash(spec)
    last = latest(home, rhash)
    if last is None:
        raise ConfigError(
            f"{where}: --require-gate: no validation of this strategy, params, universe and "
            f"rules (research hash {rhash[:8]}); run `alphaforge validate` on its backtest first"
        )
    if not last.passed:
        raise ConfigError(
            f"{where}: --require-gate: the last validation ({last.created:%Y-%m-%d %H:%M} UTC, "
            f"{last.path}) failed: {', '.join(last.failed) or 'see the report'}"
        )
    if config is not None and config.exists():
        changed = dt.datetime.fromtimestamp(config.stat().st_mtime, dt.UTC)
        if changed > last.created:
            raise ConfigError(
                f"{where}: --require-gate: the config changed ({changed:%Y-%m-%d %H:%M} UTC) "
                f"after its last validation ({last.created:%Y-%m-%d %H:%M} UTC); validate again"
            )
    return last
