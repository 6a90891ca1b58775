"""Shared plumbing of the market-data source adapters.

* :class:`RetryPolicy` and :func:`call_with_retry`: exponential back-off with seeded jitter that
  honours a vendor's ``Retry-After`` and gives up with a one-line :class:`SourceError`.
* :class:`TransientError`: what an adapter raises for a response worth retrying (429/418,
  5xx, a dropped connection, Alpha Vantage's HTTP-200 "Note").
* :func:`chunk_range`: split a long date range into vendor-sized requests.
* :func:`redact` / :func:`one_line`: error text that never carries an API key.
* :func:`finish_bars`: turn parsed rows into canonical long bars clipped to the request.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx
import numpy as np
import pandas as pd
from pydantic import SecretStr

from alphaforge.core.errors import ConfigError, SourceError
from alphaforge.data.schema import BAR_COLUMNS, Timeframe, parse_timeframe, to_utc
from alphaforge.ports import SourceSettings

T = TypeVar("T")

RATE_LIMIT_STATUSES = frozenset({418, 429})
AUTH_STATUSES = frozenset({401, 403})


class TransientError(Exception):
    """A failure worth retrying: rate limit, server error or network error.

    Parameters
    ----------
    reason:
        Short description used in the final error, e.g. ``"HTTP 429 rate-limited"``.
    retry_after:
        Seconds the vendor asked us to wait, when it said so.
    """

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class RetryPolicy:
    """How often and how long to retry transient failures.

    The delay before retry ``k`` (0-based) is ``Retry-After`` when the vendor sent one, otherwise
    ``min(max_delay, base_delay * 2**k)`` stretched by a jitter factor in ``[1, 1 + jitter)`` drawn
    from a RNG seeded with ``seed`` (so runs are reproducible). ``sleep`` is injectable so tests
    can record the delays instead of waiting.
    """

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: float = 0.25
    seed: int = 0
    sleep: Callable[[float], None] = time.sleep
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be >= 1")
        self._rng = random.Random(self.seed)

    def delay(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        if retry_after is not None:  # the vendor's word, within reason (10 x max_delay)
            return max(0.0, min(retry_after, self.max_delay * 10))
        backoff = min(self.max_delay, self.base_delay * (2**retry))
        return backoff * (1.0 + self.jitter * self._rng.random())


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy, source: str, subject: str) -> T:
    """Call ``fn`` until it succeeds, retrying :class:`TransientError` per ``policy``.

    After the last attempt raises :class:`SourceError` ``"{source}: {reason} on {subject} after
    {n} attempts"``, e.g. ``"polygon: HTTP 429 rate-limited on MSFT 1d after 5 attempts"``.
    Any other exception propagates at once.
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except TransientError as exc:
            if attempt == policy.attempts:
                raise SourceError(
                    f"{source}: {exc.reason} on {subject} after {attempt} attempts"
                ) from None
            policy.sleep(policy.delay(attempt - 1, exc.retry_after))
    raise AssertionError("unreachable")  # pragma: no cover


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date); None if absent/bad."""
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def status_reason(status: int) -> str:
    """Short text for an HTTP status as used in error messages."""
    if status in RATE_LIMIT_STATUSES:
        return f"HTTP {status} rate-limited"
    if status in AUTH_STATUSES:
        return f"HTTP {status} authentication failed (check the API key)"
    if status >= 500:
        return f"HTTP {status} server error"
    return f"HTTP {status}"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def one_line(text: str, secrets: Iterable[str | None] = (), limit: int = 200) -> str:
    """Collapse ``text`` to one redacted line of at most ``limit`` characters."""
    flat = " ".join(redact(str(text), secrets).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def chunk_range(
    start: pd.Timestamp, end: pd.Timestamp, span: pd.Timedelta
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Split ``[start, end]`` into consecutive inclusive pieces no longer than ``span``.

    Pieces touch without overlapping: each starts 1 ns after the previous one ends.
    """
    if end < start:
        return []
    pieces: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    lo = start
    one = pd.Timedelta(1, "ns")
    while lo <= end:
        hi = min(end, lo + span - one)
        pieces.append((lo, hi))
        lo = hi + one
    return pieces


def session_date(ts: pd.Series, tz: str) -> pd.Series:
    """Daily labels: the local date of each UTC instant in ``tz``, at 00:00 UTC."""
    local = ts.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return local.dt.tz_localize("UTC").astype("datetime64[ns, UTC]")


def empty_bars(with_adj: bool = False) -> pd.DataFrame:
    """An empty canonical bar frame."""
    cols = list(BAR_COLUMNS) + (["adj_close"] if with_adj else [])
    df = pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    df["symbol"] = pd.Series(dtype="object")
    df["timestamp"] = pd.Series(dtype="datetime64[ns, UTC]")
    return df[cols]


def finish_bars(
    df: pd.DataFrame,
    symbol: str,
    timeframe: Timeframe,
    start: pd.Timestamp,
    end: pd.Timestamp,
    source: str,
) -> pd.DataFrame:
    """Canonical bars for ``symbol``: typed, sorted, de-duplicated and clipped to [start, end].

    ``df`` needs ``timestamp`` (tz-aware) and the price/volume columns. When
    :func:`alphaforge.data.ingest.normalize_bars` validates the result (one-line
    :class:`~alphaforge.core.errors.DataError` naming the source on bad bars).
    """
    with_adj = "adj_close" in df.columns
    if df.empty:
        return empty_bars(with_adj)
    out = df.copy()
    out["symbol"] = symbol
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True).astype("datetime64[ns, UTC]")
    for col in ("open", "high", "low", "close", "volume", "adj_close"):
        if col in out.columns:
            out[col] = pd.to_numeric(out[col], errors="coerce").astype("float64")
    lo, hi = _bounds(start, end, timeframe)
    out = out[(out["timestamp"] >= lo) & (out["timestamp"] <= hi)]
    out = out.drop_duplicates("timestamp", keep="last").sort_values("timestamp")
    cols = list(BAR_COLUMNS) + (["adj_close"] if with_adj else [])
    out = out[cols].reset_index(drop=True)
    return _validate(out, source, timeframe)


def _bounds(
    start: pd.Timestamp, end: pd.Timestamp, timeframe: Timeframe
) -> tuple[pd.Timestamp, pd.Timestamp]:
    if timeframe.is_intraday:
        return start, end
    return start.normalize(), end.normalize()


def _validate(df: pd.DataFrame, source: str, timeframe: Timeframe) -> pd.DataFrame:
    """Drop rows without prices, then validate with the shared ingest rules."""
    from alphaforge.data.ingest import normalize_bars

    if df.empty:
        return df
    prices = df[["open", "high", "low", "close"]].to_numpy(dtype="float64")
    if np.isnan(prices).any():
        df = df[~np.isnan(prices).any(axis=1)].reset_index(drop=True)
    return normalize_bars(df, source, timeframe=timeframe.name, on_duplicate="last")


class SourceBase:
    """Common state of an adapter: settings, retry policy and secret-safe error building.

    Parameters
    ----------
    settings:
        Where base URLs and keys come from.
    policy:
        Retry policy; a fresh default :class:`RetryPolicy` when omitted.
    """

    name: str = "source"

    def __init__(self, settings: SourceSettings, policy: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.policy = policy or RetryPolicy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def fetch(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Canonical long bars for ``symbol`` in ``[start, end]``; empty frame when none."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """Every credential value in the settings (for redaction)."""
        values: list[str] = []
        # every field of the settings object (pydantic settings list theirs), not only the
        # ones sources read: a secret added later is redacted too
        names = getattr(type(self.settings), "model_fields", SourceSettings.__annotations__)
        for field_name in names:
            value = getattr(self.settings, field_name, None)
            if isinstance(value, SecretStr):
                values.append(value.get_secret_value())
        return values

    def require(self, field_name: str) -> str:
        """The secret ``field_name`` from settings or a one-line :class:`ConfigError`."""
        value = getattr(self.settings, field_name, None)
        if value is None or not value.get_secret_value():
            env = "ALPHAFORGE_" + field_name.upper()
            raise ConfigError(f"{self.name}: {env} is not set (environment or .env)")
        return str(value.get_secret_value())

    def retry(self, fn: Callable[[], T], symbol: str, timeframe: Timeframe) -> T:
        """Run ``fn`` under the retry policy; failures name this source, symbol and timeframe."""
        return call_with_retry(fn, self.policy, self.name, f"{symbol} {timeframe}")

    def error(self, reason: str, symbol: str, timeframe: Timeframe) -> SourceError:
        """A one-line, redacted :class:`SourceError` naming source, symbol and timeframe."""
        return SourceError(
            f"{self.name}: {one_line(reason, self.secrets())} on {symbol} {timeframe}"
        )

    def http_get(self, client: httpx.Client, url: str, params: dict[str, str]) -> httpx.Response:
        """GET that raises :class:`TransientError` for 429/418/5xx and network failures."""
        try:
            resp = client.get(url, params=params)
        except httpx.TransportError as exc:
            raise TransientError(f"network error ({type(exc).__name__})") from None
        code = resp.status_code
        if code in RATE_LIMIT_STATUSES or code >= 500:
            raise TransientError(
                status_reason(code), parse_retry_after(resp.headers.get("Retry-After"))
            )
        return resp


def request_window(
    timeframe: str, start: object, end: object
) -> tuple[Timeframe, pd.Timestamp, pd.Timestamp]:
    """Parse a fetch request: timeframe plus UTC start/end (``end`` defaults to now)."""
    tf = parse_timeframe(timeframe)
    lo = to_utc(start)  # type: ignore[arg-type]
    hi = to_utc(end) if end is not None else pd.Timestamp.now(tz="UTC")  # type: ignore[arg-type]
    if lo is None or hi is None:
        raise ConfigError("fetch: start is required")
    if hi == hi.normalize():
        hi = hi + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")  # a date end includes that day
    if hi < lo:
        raise ConfigError(f"fetch: end {hi} is before start {lo}")
    return tf, lo, hi
