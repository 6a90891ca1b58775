"""Shipped test kit: seeded data, locations of shared fixtures and service requirements.

Tests that need a real service (PostgreSQL, Redis, a browser) or the shared real data call
:func:`skip_or_fail`: on a developer machine without it they skip with the reason; when
``CI=true`` they fail, because CI machines must have it.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

POSTGRES_URL_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL_DEFAULT = "redis://127.0.0.1:6379/0"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str) -> None:
    """Skip the running test (or fail it when ``CI=true``) with ``reason``."""
    import pytest

    if in_ci():
        pytest.fail(f"required on CI: {reason}", pytrace=False)
    pytest.skip(reason)


def shared_data_dir() -> Path:
    """``../shared/data`` beside the project root (override with ALPHAFORGE_SHARED_DATA)."""
    env = os.environ.get("ALPHAFORGE_SHARED_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "data"
        if (parent / "pyproject.toml").exists() and candidate.is_dir():
            return candidate
    return Path.cwd().parent / "shared" / "data"


def shared_data_file(name: str) -> Path:
    """Path of a shared real-data file; skips (fails on CI) when it is absent."""
    path = shared_data_dir() / name
    if not path.exists():
        skip_or_fail(f"shared real data {path} is not present")
    return path


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def postgres_url() -> str:
    """URL of the test PostgreSQL; skips (fails on CI) when no server answers."""
    url = os.environ.get("ALPHAFORGE_TEST_POSTGRES_URL", POSTGRES_URL_DEFAULT)
    if not port_open("127.0.0.1", 5432):
        skip_or_fail("no PostgreSQL server on 127.0.0.1:5432")
    return url


def redis_url() -> str:
    url = os.environ.get("ALPHAFORGE_TEST_REDIS_URL", REDIS_URL_DEFAULT)
    if not port_open("127.0.0.1", 6379):
        skip_or_fail("no Redis server on 127.0.0.1:6379")
    return url
