"""Market-data vendors behind :class:`alphaforge.ports.MarketDataSource`.

>>> from alphaforge.ports import SourceSettings
>>> get_source("polygon", AppSettings()).name
'polygon'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alphaforge.core.errors import ConfigError

if TYPE_CHECKING:  # the adapters (and httpx) load only when a source is used
    from alphaforge.data.sources.base import RetryPolicy, SourceBase
    from alphaforge.ports import MarketDataSource, SourceSettings

SOURCE_NAMES: tuple[str, ...] = ("yahoo", "alpaca", "polygon", "alphavantage", "ccxt")

__all__ = ["SOURCE_NAMES", "RetryPolicy", "get_source"]


def __getattr__(name: str) -> Any:
    if name == "RetryPolicy":
        from alphaforge.data.sources.base import RetryPolicy

        return RetryPolicy
    raise AttributeError(name)


def get_source(
    name: str, settings: SourceSettings, policy: RetryPolicy | None = None
) -> MarketDataSource:
    """The adapter called ``name`` (``yahoo|alpaca|polygon|alphavantage|ccxt``).

    Parameters
    ----------
    name:
        Source name (case-insensitive).
    settings:
        Base URLs and credentials.
    policy:
        Retry policy (attempts, back-off, injectable sleep); defaults per :class:`RetryPolicy`.

    Raises
    ------
    ConfigError
        When ``name`` is not a known source.
    """
    key = name.strip().lower()
    cls: type[SourceBase]
    if key == "yahoo":
        from alphaforge.data.sources.yahoo import YahooSource as cls
    elif key == "alpaca":
        from alphaforge.data.sources.alpaca import AlpacaSource as cls
    elif key == "polygon":
        from alphaforge.data.sources.polygon import PolygonSource as cls
    elif key == "alphavantage":
        from alphaforge.data.sources.alphavantage import AlphaVantageSource as cls
    elif key == "ccxt":
        from alphaforge.data.sources.ccxt_source import CcxtSource as cls
    else:
        raise ConfigError(
            f"source: unknown value {name!r}; expected one of {', '.join(SOURCE_NAMES)}"
        )
    return cls(settings, policy)
