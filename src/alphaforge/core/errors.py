"""Error hierarchy.

Every error alphaforge raises on bad input derives from :class:`AlphaforgeError` and carries a
one-line message that says *what* is wrong and *where* (file, row, column, key, symbol). The CLI
prints that line and exits non-zero; nothing else is shown unless ``--debug`` is given.
"""

from __future__ import annotations


class AlphaforgeError(Exception):
    """Base class of every expected, user-facing error."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        # Keep messages to one line: the CLI prints them as they are.
        super().__init__(" ".join(str(message).split()))


class ConfigError(AlphaforgeError):
    """A configuration value or key is invalid (names the key and the bad value)."""

    exit_code = 2


class DataError(AlphaforgeError):
    """Input market data is malformed (names the file, row and column)."""


class NotTextError(DataError, ConfigError):
    """A file that must be text (a config, a CSV of bars) is not UTF-8: bad input, exit code 2.
    The message names the file, the line and the first byte that is not UTF-8."""

    exit_code = 2


class UserFileError(DataError):
    """A file the user named (a CSV or Parquet file of bars, a saved result) cannot be read as
    what it must be: bad input, exit code 2 (not 1, the code of a run that failed). The message
    names the file and, where known, the line, column or key and the value."""

    exit_code = 2


class PeriodError(DataError):
    """A run's period of data that it cannot use: ``start`` / ``end`` (``--from`` / ``--to``)
    select none of the data's bars, or fewer bars than the strategy's warm-up. Bad input, exit
    code 2 (not 1, the code of a run that failed); the message names the period and what the
    data hold."""

    exit_code = 2


class StoreError(AlphaforgeError):
    """The local market-data store could not be read or written."""


class SourceError(AlphaforgeError):
    """A market-data vendor returned an error or could not be reached."""


class UnknownSymbolError(DataError):
    """A symbol was requested that the store or source does not have (a symbol given is bad
    input: exit code 2)."""

    exit_code = 2


class StrategyError(AlphaforgeError):
    """A strategy is invalid, or its parameters are."""


class StrategyInputError(StrategyError):
    """A strategy given wrongly (an unknown name, a file or class not found, a file that exits
    while it is imported, parameters it refuses, a direction it cannot trade): bad input, exit
    code 2."""

    exit_code = 2


class BacktestError(AlphaforgeError):
    """A backtest could not be run with the given inputs."""


class IdleSettingError(BacktestError, ConfigError):
    """A setting the run would ignore (changed from its default with nothing to act on).

    Both a configuration error (exit code 2, names the key and the value) and a reason the
    backtest cannot run; a run config prefixes its file."""

    exit_code = 2


class VenueError(AlphaforgeError):
    """A trading venue refused a request or could not be reached.

    ``retry_safe`` says whether sending the same request again cannot trade twice (true for
    reads, and for submits that carry an idempotent client order id)."""

    retry_safe: bool = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OrderRejectedError(VenueError):
    """The venue rejected an order (the message says why)."""


class InsufficientBuyingPowerError(OrderRejectedError):
    """The venue rejected an order for lack of buying power."""


class DuplicateOrderError(VenueError):
    """The venue already has an order with this client order id (the first one stands)."""


class RateLimitedError(VenueError):
    """Too many requests; ``retry_after`` seconds to wait (from the venue's Retry-After)."""

    retry_safe = True


class VenueUnavailableError(VenueError):
    """The venue could not be reached or dropped the connection."""

    retry_safe = True


class HaltedError(AlphaforgeError):
    """Trading is halted (kill switch or drawdown breaker) until ``alphaforge resume``."""

    exit_code = 3
