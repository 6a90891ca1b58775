"""Application settings: environment first, then ``.env``, then defaults.

Settings are created once at the entry point (CLI, API) and passed down; nothing reads the
environment at import time.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path.home() / ".alphaforge"


class AppSettings(BaseSettings):
    """Where alphaforge keeps its files and which services it talks to.

    Every file alphaforge writes (market data, ledger, runs, reports unless told otherwise) lives
    under ``home``, so two homes never interfere.
    """

    model_config = SettingsConfigDict(
        env_prefix="ALPHAFORGE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    home: Path = Field(default_factory=default_home, description="Root of everything written.")
    store_url: str | None = Field(
        default=None,
        description="Market-data store: None for Parquet+DuckDB under home/store, "
        "or a postgresql:// URL.",
    )
    ledger_url: str | None = Field(
        default=None,
        description="Trading ledger: None for sqlite:///<home>/ledger.db, or a postgresql:// URL.",
    )

    # Vendor credentials: secrets, never logged or written to reports.
    alpaca_api_key: SecretStr | None = None
    alpaca_secret_key: SecretStr | None = None
    polygon_api_key: SecretStr | None = None
    alphavantage_api_key: SecretStr | None = None
    ccxt_api_key: SecretStr | None = None
    ccxt_secret: SecretStr | None = None

    # Base URLs are configurable so that tests can point the real clients at local servers.
    alpaca_data_url: str | None = None
    polygon_base_url: str = "https://api.polygon.io"
    alphavantage_base_url: str = "https://www.alphavantage.co"
    yahoo_base_url: str | None = None
    ccxt_exchange: str = "binance"
    ccxt_base_url: str | None = None

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def ledger_url_resolved(self) -> str:
        """``ledger_url``, or the SQLite file ``<home>/ledger.db`` when it is unset."""
        return self.ledger_url or f"sqlite:///{self.home.expanduser() / 'ledger.db'}"


def load_settings(home: Path | None = None) -> AppSettings:
    """Build settings; an explicit ``home`` (``--home``) wins over the environment."""
    if home is not None:
        return AppSettings(home=Path(home).expanduser())
    return AppSettings()
