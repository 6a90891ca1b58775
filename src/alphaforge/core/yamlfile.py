"""Read a YAML file whose top level is a mapping; every failure is one line naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from alphaforge.core.errors import ConfigError


def read_yaml_mapping(path: str | Path, what: str = "config") -> dict[str, Any]:
    """The mapping at the top of ``path`` (an empty file is an empty mapping).

    Raises
    ------
    ConfigError
        ``path: no such <what> file``, ``path: line N invalid YAML`` or ``path: expected a
        mapping of keys at the top level``.
    """
    p = Path(path)
    try:
        loaded = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such {what} file") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a {what} file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}:{where} invalid YAML") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{p}: expected a mapping of keys at the top level")
    return loaded
