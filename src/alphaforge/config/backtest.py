"""Backtest configuration: every fill, cost, sizing and risk choice, validated by pydantic.

The defaults are the honest ones: fills at the next bar's open, costs on (0.1% commission and
5 bps slippage), whole shares, long only. The resolved configuration is written into every
result.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from alphaforge.core.errors import ConfigError
from alphaforge.sim.specs import parse_commission, parse_level, parse_slippage

SpecStr = str | float | None


def _checked(parser: Any, value: SpecStr) -> SpecStr:
    """Run a SPEC parser; report its complaint as a validation error (so the key is named)."""
    try:
        parser(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class CostsConfig(_Model):
    commission: SpecStr = Field("0.1%", description="e.g. 0.1%, 5bps, 0.005/share,min=1,max=1%, ib")
    slippage: SpecStr = Field("5bps", description="e.g. 5bps, spread=10bps, 0.1atr, or a sum")
    participation: float = Field(
        0.0, ge=0.0, le=1.0, description="Max fraction of bar volume per fill (0 = no cap)."
    )
    borrow_fee: float = Field(0.0, ge=0.0, description="Annual short borrow fee, e.g. 0.01.")
    margin: float = Field(1.0, ge=1.0, description="Margin requirement on shorts (1.5 = Reg T).")
    cash_rate: float = Field(0.0, description="Annual rate earned on cash (paid when negative).")

    @field_validator("commission")
    @classmethod
    def _commission(cls, v: SpecStr) -> SpecStr:
        return _checked(parse_commission, v)

    @field_validator("slippage")
    @classmethod
    def _slippage(cls, v: SpecStr) -> SpecStr:
        return _checked(parse_slippage, v)


class ExitsConfig(_Model):
    stop_loss: SpecStr = Field(None, description="e.g. 5%, 2atr, 1.5 (price distance)")
    take_profit: SpecStr = Field(None, description="e.g. 10%, 3atr")
    trailing_stop: SpecStr = Field(None, description="e.g. 8%, 3atr")
    max_bars: int | None = Field(None, ge=1, description="Time exit after this many bars held.")
    stop_on_entry_bar: bool = Field(
        True, description="Check stops in the bar whose open filled the entry."
    )
    ambiguity: Literal["stop_first", "target_first", "finer_bars"] = "stop_first"
    atr_period: int = Field(14, ge=1)

    @field_validator("stop_loss", "take_profit", "trailing_stop")
    @classmethod
    def _level(cls, v: SpecStr) -> SpecStr:
        return _checked(lambda x: parse_level(x, "distance"), v)


class SizingConfig(_Model):
    method: Literal["all_in", "fraction", "cash", "shares", "risk", "vol_target", "kelly"] = (
        "all_in"
    )
    value: float | None = Field(
        None,
        gt=0,
        description="fraction of equity / cash amount / shares / risk fraction / annual vol "
        "target / Kelly multiplier, depending on method",
    )
    fractional: bool = Field(False, description="Allow fractional quantities (crypto).")
    vol_lookback: int = Field(20, ge=2)
    kelly_lookback: int = Field(50, ge=2)
    kelly_min_trades: int = Field(20, ge=1)
    kelly_fallback: float = Field(0.1, ge=0, le=1)

    def resolved_value(self) -> float:
        defaults = {
            "all_in": 1.0,
            "fraction": 0.1,
            "cash": 10_000.0,
            "shares": 100.0,
            "risk": 0.01,
            "vol_target": 0.15,
            "kelly": 0.5,
        }
        return float(self.value if self.value is not None else defaults[self.method])


class RiskConfig(_Model):
    max_positions: int | None = Field(None, ge=1)
    max_weight: float | None = Field(None, gt=0, description="Max position value / equity.")
    max_sector_exposure: float | None = Field(None, gt=0)
    sectors: dict[str, str] | None = Field(None, description="symbol -> sector")
    min_cash: float = Field(0.0, ge=0, lt=1, description="Cash reserve as a fraction of equity.")
    max_gross_leverage: float | None = Field(None, gt=0)
    max_net_leverage: float | None = Field(None, gt=0)
    max_trade_loss: float | None = Field(
        None, gt=0, lt=1, description="Exit a trade once it loses this fraction of equity."
    )
    daily_loss_limit: float | None = Field(None, gt=0, lt=1)
    weekly_loss_limit: float | None = Field(None, gt=0, lt=1)
    max_drawdown: float | None = Field(None, gt=0, lt=1)
    drawdown_action: Literal["flatten", "halt", "flatten_and_halt"] = "flatten_and_halt"


class BacktestConfig(_Model):
    """Everything that decides how signals become fills, costs and P&L."""

    cash: float = Field(100_000.0, gt=0)
    fill: Literal["next_open", "close"] = Field(
        "next_open", description="close = same-bar close fills (optimistic)."
    )
    direction: Literal["long", "short", "long_short"] = "long"
    order_type: Literal["market", "limit", "stop", "stop_limit"] = "market"
    time_in_force: Literal["day", "gtc"] = "day"
    costs: CostsConfig = Field(default_factory=lambda: CostsConfig())
    exits: ExitsConfig = Field(default_factory=lambda: ExitsConfig())
    sizing: SizingConfig = Field(default_factory=lambda: SizingConfig())
    risk: RiskConfig = Field(default_factory=lambda: RiskConfig())
    rebalance: Literal["every_bar", "daily", "weekly", "monthly", "quarterly"] = "monthly"
    drift_band: float = Field(0.0, ge=0, lt=1)
    timeframe: str | None = None
    calendar: str | None = Field(None, description="XNYS (equities) or 24/7 (crypto); inferred.")
    risk_free: float = 0.0
    benchmark: str | None = Field(None, description="Benchmark symbol; default equal-weight B&H.")
    record_positions: bool = True
    seed: int = 0

    @classmethod
    def build(cls, data: dict[str, Any] | None = None, source: str = "config") -> BacktestConfig:
        """Validate a (nested) mapping; errors name the key, the bad value and ``source``."""
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, source)) from None


def format_validation_error(exc: ValidationError, source: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(root)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    value = err.get("input")
    shown = "" if isinstance(value, dict) else f" (got {value!r})"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: {loc}: {msg}{shown}{more}"


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``costs.commission``-style keys in a nested mapping."""
    parts = dotted.split(".")
    cur = data
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
