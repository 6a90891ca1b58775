"""Trading-ledger use cases: open the configured ledger, find a run in it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import ConfigError

if TYPE_CHECKING:  # SQLAlchemy loads on first use (the CLI starts without it)
    from alphaforge.ledger import Ledger, RunInfo

__all__ = [
    "RunLedger", "find_run", "ledger_exists", "new_ledger_file", "open_ledger",
    "remove_new_ledger", "run_info", "trading_ledger", "unknown_run",
]  # fmt: skip


def open_ledger(settings: AppSettings) -> Ledger:
    """The ledger at ``settings.ledger_url_resolved`` (created and migrated when needed).

    Raises
    ------
    StoreError
        When the database cannot be reached or migrated (the URL is named without password).
    """
    from alphaforge.ledger import Ledger

    return Ledger.open(settings.ledger_url_resolved)


def new_ledger_file(settings: AppSettings) -> Path | None:
    """The SQLite file :func:`open_ledger` would create (it does not exist yet), or None: a
    command that starts a run removes it again when the run is refused before it starts
    (:func:`remove_new_ledger`), so bad input leaves the home as it was."""
    from alphaforge.ledger.urls import sqlite_file

    path = sqlite_file(settings.ledger_url_resolved)
    return path if path is not None and not path.exists() else None


def remove_new_ledger(path: Path | None) -> None:
    """Remove the (closed) ledger file ``path`` made by this command, with its WAL files."""
    if path is None:
        return
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


@dataclass
class RunLedger:
    """The ledger a trading command runs on, and the run's setup once it is built (anything
    with a ``close()``: a replay, paper or account setup)."""

    ledger: Ledger
    setup: Any = None


@contextmanager
def trading_ledger(settings: AppSettings) -> Iterator[RunLedger]:
    """Open the configured ledger for a run; at the end close the run's setup (when it was
    built) and the ledger. A run refused before its setup was built leaves no ledger behind:
    the SQLite file this command created is removed (:func:`remove_new_ledger`)."""
    fresh = new_ledger_file(settings)
    run = RunLedger(open_ledger(settings))
    try:
        yield run
    finally:
        if run.setup is not None:
            run.setup.close()
        run.ledger.close()
        if run.setup is None:
            remove_new_ledger(fresh)


def ledger_exists(settings: AppSettings) -> bool:
    """Whether the configured ledger can hold a run: a server database, or a SQLite file that
    exists. Commands that only read or lift a halt do not create a ledger in an empty home."""
    from alphaforge.ledger.urls import sqlite_file

    path = sqlite_file(settings.ledger_url_resolved)
    return path is None or path.exists()


def unknown_run(run_id: str, where: str, name: str = "--run") -> ConfigError:
    """The refusal of a run id that names no run of the ledger ``where`` (exit code 2)."""
    return ConfigError(f"{name} {run_id}: no such run in the ledger {where}")


def run_info(ledger: Ledger, run_id: str, name: str = "run") -> RunInfo:
    """The run ``run_id`` of ``ledger``; :class:`ConfigError` naming it when there is none."""
    run = ledger.run(run_id)
    if run is None:
        raise unknown_run(run_id, ledger.url_display, name)
    return run


def find_run(ledger: Ledger, run_id: str | None) -> RunInfo:
    """The run ``run_id`` (``--run``), or the last one; :class:`ConfigError` when there is
    none."""
    if run_id:
        return run_info(ledger, run_id, "--run")
    run = ledger.last_run()
    if run is None:
        raise ConfigError("no runs yet")
    return run
