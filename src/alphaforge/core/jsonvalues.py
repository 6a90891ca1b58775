"""Values made JSON-safe, one definition for results, validations and drift reports."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd


def json_safe(obj: Any) -> Any:
    """A copy of ``obj`` that ``json.dumps`` writes as standard JSON.

    Mappings get string keys; tuples and arrays become lists; numpy scalars become Python
    numbers; NaN and infinities become ``None``; timestamps and dates become ISO text.
    """
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, pd.Timestamp | dt.datetime | dt.date):
        return None if pd.isna(obj) else obj.isoformat()
    return obj
