"""One process writes a run: the lock a runtime holds on its run for as long as it runs.

Two processes on one run (a replay started again with ``--run-id`` while the first still ran,
a paper run started twice) would both send orders and write cycles; the second of two writes of
a cycle number failed with a database error, after orders had gone out twice. A run is held:

- on SQLite, by an exclusive ``flock`` of ``<ledger>.locks/<run id>.lock`` beside the database
  file (the file names the holder's process id and start time, for the message and
  ``alphaforge status``);
- on PostgreSQL, by a session advisory lock (``pg_try_advisory_lock``) on a connection kept
  open for the run, so runtimes on several machines sharing the ledger exclude each other.

The operating system or the server releases either when the process ends, however it ends
(``SIGKILL`` included), so a restart after a crash finds the run free. A lock held elsewhere
is waited for a moment (:data:`WAIT_SECONDS`: a server notices a killed client's closed
connection a little after it died) and then refused with :class:`RunBusyError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from alphaforge.core.errors import AlphaforgeError
from alphaforge.ledger.urls import sqlite_file

__all__ = ["WAIT_SECONDS", "RunBusyError", "RunLocks"]

WAIT_SECONDS = 3.0
"""How long a run held elsewhere is waited for before it is refused."""


class RunBusyError(AlphaforgeError):
    """The run is being run by another process (exit code 1: the command could not run)."""


class RunLocks:
    """The runs this process holds on one ledger (re-entrant per run)."""

    def __init__(self, engine: Engine, url: str, display: str) -> None:
        self._engine = engine
        self._file = sqlite_file(url)
        self._display = display
        self._held: dict[str, IO[str] | _ServerLock] = {}

    def hold(self, run_id: str, wait: float = WAIT_SECONDS) -> None:
        """Hold ``run_id`` until :meth:`release` or :meth:`release_all`.

        Raises
        ------
        RunBusyError
            When another process holds it after ``wait`` seconds.
        """
        if run_id in self._held:
            return
        deadline = time.monotonic() + wait
        while True:
            got = self._try(run_id)
            if got is not None:
                self._held[run_id] = got
                _sign(got)
                return
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        holder = self.holder(run_id) or "another process"
        raise RunBusyError(
            f"run {run_id} is running ({holder}) on the ledger {self._display}: one process "
            "runs a run; stop it first (alphaforge kill halts it) or give another --run-id"
        )

    def holder(self, run_id: str) -> str | None:
        """Who holds ``run_id`` when another process does (``pid 123 since ...``), else None."""
        if run_id in self._held:
            return None
        if self._file is None:
            got = self._try(run_id)
            if got is None:
                return "a process on another connection to the database"
            _drop(got)
            return None
        path = self._path(run_id)
        if not path.exists():
            return None
        got = self._try(run_id)
        if got is not None:
            _drop(got)
            return None
        try:
            who = json.loads(path.read_text(encoding="utf-8") or "{}")
            return f"pid {who['pid']} since {who['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def release(self, run_id: str) -> None:
        got = self._held.pop(run_id, None)
        if got is not None:
            _drop(got)

    def release_all(self) -> None:
        for got in self._held.values():
            _drop(got)
        self._held.clear()

    # ---- the two kinds of lock -----------------------------------------------------------------

    def _path(self, run_id: str) -> Path:
        assert self._file is not None
        return self._file.with_name(self._file.name + ".locks") / f"{run_id}.lock"

    def _try(self, run_id: str) -> IO[str] | _ServerLock | None:
        return self._try_file(run_id) if self._file is not None else self._try_server(run_id)

    def _try_file(self, run_id: str) -> IO[str] | None:
        import fcntl

        path = self._path(run_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        f = path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            return None
        return f

    def _try_server(self, run_id: str) -> _ServerLock | None:
        key = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:8], "big", signed=True)
        conn = self._engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()  # (the lock is the session's: it outlives the transaction)
        except Exception:
            conn.invalidate()
            raise
        if got:
            return _ServerLock(conn, key)
        conn.close()
        return None


class _ServerLock:
    """A session advisory lock and the connection that holds it."""

    def __init__(self, conn: Connection, key: int) -> None:
        self.conn, self.key = conn, key

    def close(self) -> None:
        """Unlock and give the connection back; a broken one is discarded (its session, and
        the lock with it, ended with it)."""
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self.conn.commit()
            self.conn.close()
        except Exception:
            self.conn.invalidate()


def _sign(got: Any) -> None:
    """Write the holder (this process, since now) into a held lock file, for the refusal of
    another process and ``alphaforge status`` (a check of who holds a run writes nothing)."""
    if isinstance(got, _ServerLock):
        return
    got.seek(0)
    got.truncate()
    got.write(
        json.dumps({"pid": os.getpid(), "since": datetime.now(UTC).isoformat("T", "seconds")})
    )
    got.flush()


def _drop(got: Any) -> None:
    """Release one held lock: close its file (the flock goes with it) or its server lock."""
    with contextlib.suppress(OSError):
        got.close()
