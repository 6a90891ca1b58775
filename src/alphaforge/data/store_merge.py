"""Store-side bar frames: the stored Arrow schema and the per-symbol upsert merge."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from alphaforge.core.errors import DataError

VALUE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume", "adj_close")
ARROW_SCHEMA = pa.schema(
    [
        pa.field("symbol", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
        *[pa.field(c, pa.float64()) for c in VALUE_COLUMNS],
    ]
)


def empty_bars() -> pd.DataFrame:
    """A canonical bar frame with no rows."""
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype="str"),
            "timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
            **{c: pd.Series(dtype="float64") for c in VALUE_COLUMNS[:-1]},
        }
    )


def canonical_for_store(bars: pd.DataFrame) -> pd.DataFrame:
    """Check and coerce bars about to be stored; sorted, unique keys (later rows win).

    Raises
    ------
    DataError
        When a required column is missing or a key is empty.
    """
    required = ("symbol", "timestamp", "open", "high", "low", "close", "volume")
    missing = [c for c in required if c not in bars.columns]
    if missing:
        raise DataError(f"bars to store are missing column(s) {', '.join(missing)}")
    if bars.empty:
        return bars.iloc[0:0]
    ts = pd.DatetimeIndex(pd.to_datetime(bars["timestamp"]))
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    if ts.isna().any():
        raise DataError("bars to store have a missing timestamp")
    sym = bars["symbol"]
    if sym.isna().any() or (sym.astype("str").str.len() == 0).any():
        raise DataError("bars to store have an empty symbol")
    out = pd.DataFrame(
        {
            "symbol": sym.astype("str").to_numpy(),
            "timestamp": ts.as_unit("ns"),
            **{
                c: (
                    bars[c].to_numpy(dtype=np.float64, na_value=np.nan)
                    if c in bars.columns
                    else np.full(len(bars), np.nan)
                )
                for c in VALUE_COLUMNS
            },
        }
    )
    out = out.sort_values(["symbol", "timestamp"], kind="stable")
    return out.drop_duplicates(["symbol", "timestamp"], keep="last").reset_index(drop=True)


def _ns(df: pd.DataFrame) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(df["timestamp"]).as_unit("ns").asi8)


def upsert(base: pd.DataFrame | None, part: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Merge one symbol's new bars into its stored bars; new values win.

    Both frames are sorted by time with unique timestamps. Returns ``(merged, inserted,
    updated)`` where ``updated`` counts stored bars whose values changed (NaN equals NaN).
    """
    part = part.reset_index(drop=True)
    if base is None or base.empty:
        return part, len(part), 0
    base_ts, new_ts = _ns(base), _ns(part)
    idx = np.searchsorted(base_ts, new_ts)
    clipped = np.minimum(idx, len(base_ts) - 1)
    exists = (idx < len(base_ts)) & (base_ts[clipped] == new_ts)
    changed = np.zeros(len(part), dtype=bool)
    rows = clipped[exists]
    for col in VALUE_COLUMNS:
        old = base[col].to_numpy(dtype=np.float64, na_value=np.nan)[rows]
        new = part[col].to_numpy(dtype=np.float64, na_value=np.nan)[exists]
        changed[exists] |= ~((old == new) | (np.isnan(old) & np.isnan(new)))
    inserted, updated = int((~exists).sum()), int(changed.sum())
    if inserted == 0 and updated == 0:
        return base, 0, 0
    keep = np.ones(len(base), dtype=bool)
    keep[rows] = False
    merged = pd.concat([base[keep], part], ignore_index=True)
    order = np.argsort(np.concatenate([base_ts[keep], new_ts]), kind="stable")
    return merged.iloc[order].reset_index(drop=True), inserted, updated
