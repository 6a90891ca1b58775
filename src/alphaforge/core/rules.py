"""Backtest rules: every fill, cost, sizing and risk choice, validated once by pydantic.

The defaults are the honest ones: fills at the next bar's open, costs on (0.1% commission and
5 bps slippage), whole shares, long only. Cost, slippage and exit specs become value objects
(:class:`~alphaforge.core.costs.Commission`, :class:`~alphaforge.core.costs.Slippage`,
:class:`~alphaforge.core.costs.Level`) when the config is built, and each is written back in
one canonical text form, so ``BacktestConfig.build(cfg.model_dump(mode="json")) == cfg``. The
configuration a run used (:meth:`BacktestConfig.resolved`) is written into every result.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from alphaforge.core.costs import (
    Commission,
    Level,
    Slippage,
    commission_text,
    commission_value,
    level_text,
    level_value,
    parse_fraction,
    slippage_text,
    slippage_value,
)
from alphaforge.core.errors import ConfigError


def _level_or_none_text(level: Level | None) -> str | None:
    return None if level is None else level_text(level)


CommissionSpec = Annotated[
    Commission,
    PlainValidator(commission_value, json_schema_input_type=str | float),
    PlainSerializer(commission_text, return_type=str),
]
SlippageSpec = Annotated[
    Slippage,
    PlainValidator(slippage_value, json_schema_input_type=str | float),
    PlainSerializer(slippage_text, return_type=str),
]
LevelSpec = Annotated[
    Level | None,
    PlainValidator(level_value, json_schema_input_type=str | Literal[0] | None),
    PlainSerializer(_level_or_none_text, return_type=str | None),
]


def fraction_value(value: Any) -> Any:
    """A fraction written as on the command line (``3%``, ``300bps``, ``0.03``: the same
    :func:`~alphaforge.core.costs.parse_fraction` as ``--daily-loss 3%``) as a number; other
    values go on to the field's own checks."""
    if not isinstance(value, str):
        return value
    try:
        return parse_fraction(value, "")
    except ConfigError:
        raise ValueError("expected a fraction: 0.03, 3% or 300bps") from None


Fraction = Annotated[float, BeforeValidator(fraction_value)]
"""A float that a YAML file may also write as a percent or in bps, like the CLI flags."""
MAX_CASH = 1e15

OrderType = Literal["auto", "market", "limit", "stop", "stop_limit"]
_EXIT_HELP = 'a number other than 0 is refused: write 5% or "1.5"'


def _takes_bool(annotation: Any) -> bool:
    """Whether a field of type ``annotation`` may hold ``true`` / ``false``."""
    if annotation is bool or annotation is Any:
        return True
    if get_origin(annotation) is Literal:
        return any(isinstance(a, bool) for a in get_args(annotation))
    if get_origin(annotation) is Annotated:
        return _takes_bool(get_args(annotation)[0])
    return any(_takes_bool(a) for a in get_args(annotation))  # a union (or none: False)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """``cash: true`` is not 1.0: a number field refuses a YAML boolean (pydantic would
        take it as 1 or 0)."""
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and not _takes_bool(field.annotation):
                raise ValueError("a number is expected here, not true / false")
        return value


HIGH_COST = 0.10
"""A commission or slippage above this fraction of the traded value per fill needs
``costs.allow_high`` (``--allow-high-costs``): such values are almost always a unit mistake,
``--slippage 5`` meant as 5 bps but read as 500 %."""
HIGH_ATR_SLIPPAGE = 2.0
ATR_SLIP_CAP_HIGH = 0.99
"""With ``costs.allow_high`` the slippage of a fill including its ATR part is capped at this
fraction of the price (a sell still fills above zero); otherwise at :data:`HIGH_COST`. The
fixed part (bps and spread) is never cut by the cap."""
_UNITS = "a bare number is a fraction (0.001 = 0.1%); write 0.1%, 5bps or 0.005/share"
_HOW = f"{_UNITS}, or set costs.allow_high: true (--allow-high-costs) if you mean it"


def _pct(x: float) -> str:
    return f"{x:.6g}" if x * 100 >= 1e6 else f"{x * 100:.6g}%"


def check_slippage(slippage: Slippage, *, allow_high: bool = False) -> None:
    """Refuse slippage that breaks the accounting or is implausibly high (``ValueError`` with
    the reason; pydantic adds the key and the value).

    Always refused: 100% of the price or more per fill (a sell would fill at a price <= 0).
    Above :data:`HIGH_COST` of the price, or :data:`HIGH_ATR_SLIPPAGE` ATR, only with
    ``allow_high``."""
    per_fill = slippage.bps + slippage.spread / 2
    if per_fill >= 1:
        raise ValueError(
            f"{_pct(per_fill)} of the price per fill: a sell would fill at a price <= 0; {_UNITS}"
        )
    if allow_high:
        return
    if per_fill > HIGH_COST:
        raise ValueError(f"{_pct(per_fill)} of the price per fill is above {HIGH_COST:.0%}; {_HOW}")
    if slippage.atr > HIGH_ATR_SLIPPAGE:
        raise ValueError(
            f"more than {HIGH_ATR_SLIPPAGE:g} ATR per fill; set costs.allow_high: true "
            "(--allow-high-costs) if you mean it"
        )


def check_commission(commission: Commission, *, allow_high: bool = False) -> None:
    """Refuse a commission of 100% of the traded value or more; above :data:`HIGH_COST` only
    with ``allow_high`` (``ValueError`` with the reason)."""
    for part, value in (("", commission.pct), (" (its max part)", commission.max_pct)):
        if value >= 1:
            raise ValueError(f"{_pct(value)} of the traded value{part} (>= 100%); {_UNITS}")
        if value > HIGH_COST and not allow_high:
            raise ValueError(
                f"{_pct(value)} of the traded value{part} is above {HIGH_COST:.0%}; {_HOW}"
            )


class CostsConfig(_Model):
    allow_high: bool = Field(
        False,
        description=f"Allow a commission or slippage above {HIGH_COST:.0%} of the traded value "
        f"per fill (or above {HIGH_ATR_SLIPPAGE:g} ATR); costs that could make a fill price "
        "zero or negative are refused even then",
    )
    commission: CommissionSpec = Field(
        "0.1%",
        validate_default=True,
        description="e.g. 0.1%, 5bps, 0.005/share,min=1,max=1%, ib, 1/order; a number is a "
        "fraction of the traded value (0.001 = 0.1%)",
    )
    slippage: SlippageSpec = Field(
        "5bps",
        validate_default=True,
        description="e.g. 5bps, spread=10bps, 0.1atr, or a sum; a number is a fraction of price",
    )
    participation: float = Field(
        0.0, ge=0.0, le=1.0, description="Max fraction of bar volume per fill (0 = no cap)."
    )
    borrow_fee: Fraction = Field(
        0.0, ge=0.0, le=5.0, description="Annual short borrow fee, e.g. 0.01 or 1% (at most 500%)."
    )
    margin: float = Field(1.0, ge=1.0, description="Margin requirement on shorts (1.5 = Reg T).")
    cash_rate: Fraction = Field(
        0.0, ge=-0.2, le=1.0, allow_inf_nan=False,
        description="Annual rate earned on cash (paid when negative), e.g. 0.04 or 4%; "
        "between -20% and 100%.",
    )  # fmt: skip

    @field_validator("commission", "slippage", mode="wrap")
    @classmethod
    def _plausible(cls, value: Any, handler: Any, info: ValidationInfo) -> Any:
        parsed = handler(value)
        allow = bool(info.data.get("allow_high", False))
        if isinstance(parsed, Commission):
            check_commission(parsed, allow_high=allow)
        else:
            check_slippage(parsed, allow_high=allow)
        return parsed


class ExitsConfig(_Model):
    stop_loss: LevelSpec = Field(
        None, description=f'e.g. 5%, 2atr, "1.5" (a price distance); {_EXIT_HELP}'
    )
    take_profit: LevelSpec = Field(None, description=f"e.g. 10%, 3atr; {_EXIT_HELP}")
    trailing_stop: LevelSpec = Field(None, description=f"e.g. 8%, 3atr; {_EXIT_HELP}")
    max_bars: int | None = Field(None, ge=1, description="Time exit after this many bars held.")
    stop_on_entry_bar: bool = Field(
        True, description="Check stops in the bar whose open filled the entry."
    )
    ambiguity: Literal["stop_first", "target_first", "finer_bars"] = "stop_first"
    atr_period: int = Field(14, ge=1)


class SizingConfig(_Model):
    method: Literal["all_in", "fraction", "cash", "shares", "risk", "vol_target", "kelly"] = (
        "all_in"
    )
    value: Fraction | None = Field(
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

    @field_validator("value")
    @classmethod
    def _no_all_in_value(cls, value: float | None, info: ValidationInfo) -> float | None:
        if value is not None and info.data.get("method") == "all_in":
            raise ValueError(
                "all_in has no value (it buys with all the cash); choose a method that takes "
                "one, e.g. fraction"
            )
        return value

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
    max_weight: Fraction | None = Field(None, gt=0, description="Max position value / equity.")
    max_sector_exposure: Fraction | None = Field(None, gt=0)
    sectors: dict[str, str] | None = Field(None, description="symbol -> sector")
    min_cash: Fraction = Field(0.0, ge=0, lt=1, description="Cash reserve as a fraction of equity.")
    max_gross_leverage: float | None = Field(
        None, gt=0, le=100, allow_inf_nan=False,
        description="Max gross position value / equity (up to 100x, a crypto venue's most)",
    )  # fmt: skip
    max_net_leverage: float | None = Field(None, gt=0, le=100, allow_inf_nan=False)
    max_trade_loss: Fraction | None = Field(
        None, gt=0, lt=1, description="Exit a trade once it loses this fraction of equity."
    )
    daily_loss_limit: Fraction | None = Field(None, gt=0, lt=1, description="e.g. 3% or 0.03")
    weekly_loss_limit: Fraction | None = Field(None, gt=0, lt=1)
    max_drawdown: Fraction | None = Field(None, gt=0, lt=1)
    drawdown_action: Literal["flatten", "halt", "flatten_and_halt"] = "flatten_and_halt"


class BacktestConfig(_Model):
    """Everything that decides how signals become fills, costs and P&L."""

    cash: float = Field(100_000.0, gt=0, allow_inf_nan=False)
    adjust: bool = Field(
        True,
        description="Split/dividend-adjust prices when the data has adj_close (the CLI and the "
        "Python API share this default; the result records it)",
    )
    fill: Literal["next_open", "close"] = Field(
        "next_open", description="close = same-bar close fills (optimistic)."
    )
    direction: Literal["long", "short", "long_short"] = "long"
    order_type: OrderType = Field(
        "auto",
        description="market unless the strategy supplies limit/stop prices; the result records "
        "the type used",
    )
    time_in_force: Literal["day", "gtc"] = "day"
    costs: CostsConfig = Field(default_factory=lambda: CostsConfig())
    exits: ExitsConfig = Field(default_factory=lambda: ExitsConfig())
    sizing: SizingConfig = Field(default_factory=lambda: SizingConfig())
    risk: RiskConfig = Field(default_factory=lambda: RiskConfig())
    rebalance: Literal["every_bar", "daily", "weekly", "monthly", "quarterly"] = "monthly"
    drift_band: Fraction = Field(0.0, ge=0, lt=1)
    timeframe: str | None = None
    calendar: str | None = Field(None, description="XNYS (equities) or 24/7 (crypto); inferred.")
    periods_per_year: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="Bars per year for annualised metrics and vol targeting; inferred from the "
        "timeframe and calendar when not given.",
    )
    risk_free: Fraction = Field(
        0.0, gt=-1, lt=1, allow_inf_nan=False,
        description="Annual risk-free rate for Sharpe, Sortino and alpha, e.g. 4% or 0.04",
    )  # fmt: skip
    benchmark: str | None = Field(None, description="Benchmark symbol; default equal-weight B&H.")
    record_positions: bool = True

    @field_validator("exits")
    @classmethod
    def _stops_can_trigger(cls, value: ExitsConfig, info: ValidationInfo) -> ExitsConfig:
        """A long-only run's stop 100% or more under the price is at or below zero: it could
        never trigger (a short's stop above the price can)."""
        if info.data.get("direction") != "long":
            return value
        for key in ("stop_loss", "trailing_stop"):
            level = getattr(value, key)
            if level is not None and level.kind == "pct" and level.value >= 1.0:
                raise ValueError(
                    f"{key}: {level.value:.0%} under a long position's price is at or below "
                    f"zero and never triggers; give a distance under 100% (got {level.value:.0%})"
                )
        return value

    @field_validator("cash")
    @classmethod
    def _plausible_cash(cls, value: float) -> float:
        if value > MAX_CASH:
            raise ValueError(f"above {MAX_CASH:g}; write the account's cash in its currency")
        return value

    @classmethod
    def build(cls, data: dict[str, Any] | None = None, source: str = "config") -> BacktestConfig:
        """Validate a (nested) mapping; errors name the key, the bad value and ``source``."""
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, source)) from None

    def resolved(
        self,
        *,
        timeframe: str,
        calendar: str,
        periods_per_year: float,
        order_type: OrderType | None = None,
    ) -> BacktestConfig:
        """The configuration as a run used it: this one with the timeframe, calendar and
        annualisation it resolved (and, when given, the order type ``auto`` became) filled in.
        Its ``model_dump(mode="json")`` is what a result records, and ``BacktestConfig.build``
        of that gives this config back."""
        if not periods_per_year > 0:
            raise ConfigError(
                f"resolved config: periods_per_year: must be > 0 (got {periods_per_year!r})"
            )
        if order_type is not None and order_type not in get_args(OrderType):
            raise ConfigError(f"resolved config: order_type: unknown (got {order_type!r})")
        update: dict[str, Any] = {
            "timeframe": str(timeframe),
            "calendar": str(calendar),
            "periods_per_year": float(periods_per_year),
        }
        if order_type is not None:
            update["order_type"] = order_type
        # values of the declared types, so a copy without validating every section again (the
        # sections are copied too: changing the copy never changes this config)
        sections = {k: getattr(self, k).model_copy() for k in ("costs", "exits", "sizing", "risk")}
        return self.model_copy(update={**sections, **update})


def key_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a config key: ``strategies[0].allocation`` (list items by
    their index in brackets, mapping keys by dots)."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line: ``source: key.path: what is wrong (got value)`` (+ how many more); a check of
    the whole model (no key) names its keys in its own words: ``source: what is wrong``."""
    err = exc.errors()[0]
    loc = key_path(err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    value = err.get("input")
    named = isinstance(value, str) and repr(value) in msg  # the check's words show it already
    shown = "" if isinstance(value, dict) or named else f" (got {value!r})"
    more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    where = f"{loc}: " if loc else ""
    return f"{source}: {where}{msg}{shown}{more}"


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``costs.commission``-style keys in a nested mapping."""
    parts = dotted.split(".")
    cur = data
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
