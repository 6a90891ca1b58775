"""Ledger URLs: the default SQLite file, driver mapping and password masking."""

from __future__ import annotations

from pathlib import Path

from alphaforge.core.urlmask import mask_url

__all__ = ["default_url", "mask_url", "normalize_url", "sqlite_file"]

_SCHEME_MAP = {
    "postgres://": "postgresql+psycopg://",
    "postgresql://": "postgresql+psycopg://",
}


def default_url(home: Path) -> str:
    """``sqlite:///<home>/ledger.db``."""
    return f"sqlite:///{Path(home).expanduser() / 'ledger.db'}"


def normalize_url(url: str) -> str:
    """``postgresql://`` (and ``postgres://``) use psycopg 3; other URLs are unchanged."""
    text = url.strip()
    for prefix, repl in _SCHEME_MAP.items():
        if text.startswith(prefix):
            return repl + text[len(prefix) :]
    return text


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` (``sqlite:///path``), or None for any other database or
    an in-memory one."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url.strip())
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)
