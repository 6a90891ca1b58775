"""Conversions at the ledger boundary: floats to ``Decimal``, times to UTC ISO text."""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime
from decimal import Decimal

from alphaforge.core.errors import StoreError
from alphaforge.core.orders import money

__all__ = ["amount", "float_amount", "now_text", "optional_amount", "utc_text"]

SCALE = 10  # decimal places of the ledger's NUMERIC(28, 10) columns


def amount(x: float | Decimal, what: str) -> Decimal:
    """``x`` as the ledger's ``Decimal`` (10 places); a NaN or infinity is refused with
    :class:`StoreError` naming ``what``."""
    if isinstance(x, Decimal):
        if not x.is_finite():
            raise StoreError(f"ledger: {what} is not a finite number ({x})")
        return money(x, SCALE)
    if not math.isfinite(x):
        raise StoreError(f"ledger: {what} is not a finite number ({x})")
    return money(x, SCALE)


def float_amount(x: float | Decimal, what: str) -> float:
    """``x`` rounded to the ledger's 10 places as a float: what a SQLite ``NUMERIC`` column
    keeps (it reads back as ``Decimal`` through the float's shortest text)."""
    value = float(x)
    if not math.isfinite(value):
        raise StoreError(f"ledger: {what} is not a finite number ({x})")
    return round(value, SCALE)


def optional_amount(x: float | Decimal | None, what: str) -> Decimal | None:
    return None if x is None else amount(x, what)


@functools.lru_cache(maxsize=1024)
def utc_text(ts: str) -> str:
    """An ISO-8601 time as UTC ISO text (a naive time is taken as UTC); text that is not an
    ISO time is kept as given, so a venue's odd timestamp never loses a fill. (Remembered for
    the last times seen: a bar's orders, events and fills share a few.)"""
    if not ts:
        return ts
    try:
        dt = datetime.fromisoformat(ts)
    except ValueError:
        return ts
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC).isoformat()
    return dt.astimezone(UTC).isoformat()


def now_text() -> str:
    """The wall-clock time now, UTC ISO text."""
    return datetime.now(UTC).isoformat()
