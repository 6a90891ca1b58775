"""Technical indicators as Numba kernels over 1-D series and (bars x symbols) panels.

``INDICATORS`` maps each name to an :class:`IndicatorSpec` (function, inputs, parameter
defaults, outputs, warm-up formula, TA-Lib equivalent). The functions themselves are
re-exported from :mod:`alphaforge.indicators.library`.
"""

from __future__ import annotations

from alphaforge.indicators.cache import CacheStats, IndicatorCache
from alphaforge.indicators.library import *  # noqa: F403
from alphaforge.indicators.library import __all__ as _library_all
from alphaforge.indicators.registry import INDICATORS, IndicatorSpec, get_indicator

__all__ = [
    "INDICATORS",
    "CacheStats",
    "IndicatorCache",
    "IndicatorSpec",
    "get_indicator",
    *_library_all,
]
