"""Trading-ledger use cases: open the configured ledger."""

from __future__ import annotations

from alphaforge.config.settings import AppSettings
from alphaforge.ledger import Ledger

__all__ = ["open_ledger"]


def open_ledger(settings: AppSettings) -> Ledger:
    """The ledger at ``settings.ledger_url_resolved`` (created and migrated when needed).

    Raises
    ------
    StoreError
        When the database cannot be reached or migrated (the URL is named without password).
    """
    return Ledger.open(settings.ledger_url_resolved)
