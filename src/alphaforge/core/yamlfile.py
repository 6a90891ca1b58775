"""Read a YAML file whose top level is a mapping; every failure is one line naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from alphaforge.core.errors import ConfigError
from alphaforge.core.textfile import read_text


class _DuplicateKey(yaml.YAMLError):
    """A key given twice in one mapping (``line`` counts from 1)."""

    def __init__(self, key: Any, line: int) -> None:
        super().__init__(f"line {line}: key {key!r} given twice")
        self.key = key
        self.line = line


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (at any depth) and
    keeps timestamps as the text written (``2019-13-01`` stays a string the config models
    validate and name, instead of a ``ValueError`` from the date constructor)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                fresh = key not in seen
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if not fresh:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_timestamp_text(self, node: yaml.Node) -> str:
        assert isinstance(node, yaml.ScalarNode)  # the timestamp tag resolves on scalars only
        return str(self.construct_scalar(node))


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", StrictLoader.construct_timestamp_text)


def read_yaml_mapping(path: str | Path, what: str = "config") -> dict[str, Any]:
    """The mapping at the top of ``path`` (an empty file is an empty mapping). Dates and times
    are read as the text written.

    Raises
    ------
    ConfigError
        ``path: no such <what> file``, ``path: not UTF-8 text (line N: byte 0xNN) ...``,
        ``path: line N invalid YAML``, ``path: line N: key 'k' given twice`` or ``path:
        expected a mapping of keys at the top level``.
    """
    p = Path(path)
    try:
        loaded = yaml.load(read_text(p), Loader=StrictLoader)
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such {what} file") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a directory, not a {what} file") from None
    except _DuplicateKey as exc:
        raise ConfigError(f"{p}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}:{where} invalid YAML") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{p}: expected a mapping of keys at the top level")
    return loaded
