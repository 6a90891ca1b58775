"""Cost and exit specs (re-exported): the value objects and parsers live in
:mod:`alphaforge.core.costs`."""

from __future__ import annotations

from alphaforge.core.costs import (
    Commission,
    Level,
    Slippage,
    parse_commission,
    parse_fraction,
    parse_level,
    parse_slippage,
)

__all__ = [
    "Commission",
    "Level",
    "Slippage",
    "parse_commission",
    "parse_fraction",
    "parse_level",
    "parse_slippage",
]
