"""Parsers of the cost and exit SPEC strings used on the command line and in YAML.

Examples: commission ``0.1%``, ``5bps``, ``0.005/share``, ``0.005/share,min=1,max=1%`` (IB-style),
``1/order``, ``ib``, ``0``; several parts add up with ``+`` (``0.005/share+1/order``).
Slippage ``5bps``, ``0.05%``, ``spread=10bps`` (full bid-ask spread, half paid per fill),
``0.1atr`` (a multiple of the 14-bar ATR per share), combined with ``+``.
Exits ``5%``, ``2atr``, ``1.5`` (absolute price distance), ``0`` or ``none`` (off).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from alphaforge.core.errors import ConfigError

_NUM = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"


def parse_fraction(text: str, key: str) -> float:
    """``'5%'`` -> 0.05, ``'5bps'`` -> 0.0005, ``'0.05'`` -> 0.05."""
    s = str(text).strip().lower().replace(" ", "")
    try:
        if s.endswith("%"):
            return float(s[:-1]) / 100.0
        if s.endswith("bps") or s.endswith("bp"):
            return float(s.rstrip("ps").rstrip("b")) / 10_000.0
        return float(s)
    except ValueError:
        raise ConfigError(f"{key}: cannot read {text!r} as a number, percent or bps") from None


@dataclass(frozen=True)
class Commission:
    pct: float = 0.0
    per_share: float = 0.0
    min_per_order: float = 0.0
    max_pct: float = 0.0
    fixed: float = 0.0


@dataclass(frozen=True)
class Slippage:
    bps: float = 0.0  # fraction of price
    spread: float = 0.0  # full spread as a fraction of price
    atr: float = 0.0  # multiple of ATR


@dataclass(frozen=True)
class Level:
    """A protective exit distance: percent of price, a multiple of ATR, or absolute."""

    kind: str  # "pct" | "atr" | "abs"
    value: float


def _parts(spec: str) -> list[str]:
    return [p for p in str(spec).strip().lower().replace(" ", "").split("+") if p]


def parse_commission(spec: str | float | None, key: str = "commission") -> Commission:
    if spec is None:
        return Commission()
    if isinstance(spec, int | float):
        return Commission(pct=float(spec))
    pct = per_share = mn = mx = fixed = 0.0
    for part in _parts(spec):
        if part in {"0", "none", "off"}:
            continue
        if part == "ib":
            part = "0.005/share,min=1,max=1%"
        m = re.fullmatch(rf"({_NUM})/share((?:,(?:min|max)=[^,]+)*)", part)
        if m:
            per_share = float(m.group(1))
            for opt in filter(None, m.group(2).split(",")):
                name, _, val = opt.partition("=")
                if name == "min":
                    mn = float(val)
                else:
                    mx = parse_fraction(val, f"{key} max")
            continue
        m = re.fullmatch(rf"({_NUM})/order", part)
        if m:
            fixed = float(m.group(1))
            continue
        if re.fullmatch(rf"{_NUM}(%|bps?)?", part):
            pct = parse_fraction(part, key)
            continue
        raise ConfigError(
            f"{key}: cannot read {spec!r}; use e.g. 0.1%, 5bps, 0.005/share,min=1,max=1%, 1/order"
        )
    c = Commission(pct, per_share, mn, mx, fixed)
    if min(pct, per_share, mn, mx, fixed) < 0:
        raise ConfigError(f"{key}: negative commission in {spec!r}")
    return c


def parse_slippage(spec: str | float | None, key: str = "slippage") -> Slippage:
    if spec is None:
        return Slippage()
    if isinstance(spec, int | float):
        return Slippage(bps=float(spec))
    bps = spread = atr = 0.0
    for part in _parts(spec):
        if part in {"0", "none", "off"}:
            continue
        if part.startswith("spread="):
            spread = parse_fraction(part[7:], key)
        elif part.endswith("atr"):
            atr = _float(part[:-3], key, spec)
        elif re.fullmatch(rf"{_NUM}(%|bps?)?", part):
            bps = parse_fraction(part, key)
        else:
            raise ConfigError(f"{key}: cannot read {spec!r}; use e.g. 5bps, spread=10bps, 0.1atr")
    if min(bps, spread, atr) < 0:
        raise ConfigError(f"{key}: negative slippage in {spec!r}")
    return Slippage(bps, spread, atr)


def parse_level(spec: str | float | None, key: str) -> Level | None:
    """Parse a stop-loss / take-profit / trailing-stop distance."""
    if spec is None:
        return None
    if isinstance(spec, int | float):
        return None if spec == 0 else Level("pct", float(spec))
    s = str(spec).strip().lower().replace(" ", "")
    if s in {"", "0", "none", "off"}:
        return None
    if s.endswith("atr"):
        level = Level("atr", _float(s[:-3], key, spec))
    elif s.endswith("%") or s.endswith("bps"):
        level = Level("pct", parse_fraction(s, key))
    else:
        level = Level("abs", _float(s, key, spec))
    if level.value <= 0:
        raise ConfigError(f"{key}: distance must be positive, got {spec!r}")
    return level


def _float(text: str, key: str, spec: object) -> float:
    try:
        return float(text) if text else 1.0
    except ValueError:
        raise ConfigError(f"{key}: cannot read {spec!r}") from None
