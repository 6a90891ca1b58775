"""Trading-ledger use cases: open the configured ledger, find a run in it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import StoreError

if TYPE_CHECKING:  # SQLAlchemy loads on first use (the CLI starts without it)
    from alphaforge.ledger import Ledger, RunInfo

__all__ = ["open_ledger", "run_info"]


def open_ledger(settings: AppSettings) -> Ledger:
    """The ledger at ``settings.ledger_url_resolved`` (created and migrated when needed).

    Raises
    ------
    StoreError
        When the database cannot be reached or migrated (the URL is named without password).
    """
    from alphaforge.ledger import Ledger

    return Ledger.open(settings.ledger_url_resolved)


def run_info(ledger: Ledger, run_id: str) -> RunInfo:
    """The run ``run_id`` of ``ledger``; :class:`StoreError` naming it when there is none."""
    run = ledger.run(run_id)
    if run is None:
        raise StoreError(f"run {run_id}: no such run in the ledger {ledger.url_display}")
    return run
