"""The decision log of a run: one JSON line per decision (an order sent, refused by the risk
gate or by the venue, a reconciliation, a restart) under ``<home>/logs/``, beside the ledger."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import structlog

__all__ = ["make_logger", "run_log_file"]


def run_log_file(settings: Any, run_id: str) -> Path:
    """The JSON-lines decision log of run ``run_id`` under the home."""
    return Path(settings.home) / "logs" / f"{run_id}.jsonl"


def make_logger(path: Path) -> Callable[..., None]:
    """Structured JSON lines of every decision, to ``path`` (the terminal shows the view).
    The file is made with its first line: a run refused before it logs anything leaves no
    empty log behind."""
    opened: list[Any] = []

    def log(event: str, **kw: Any) -> None:
        if not opened:
            opened.append(_file_logger(path))
        opened[0].msg(event, **kw)

    return log


def _file_logger(path: Path) -> Any:
    """A structlog logger writing (and flushing) one JSON line per event to ``path``; bound
    once (a lazy proxy binds again at every line: 13 us a line instead of 10)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return structlog.wrap_logger(
        structlog.BytesLogger(path.open("ab")),
        processors=[
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=_json_line),
        ],
    ).bind()


def _json_line(event: dict[str, Any], **_kw: Any) -> bytes:
    """One log line as JSON (orjson: the decision log is written at every order); values
    orjson does not know (numpy scalars are known) are written as text."""
    return orjson.dumps(
        event, default=str, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    )
