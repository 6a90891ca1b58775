"""Every setting acts or is refused, in signals mode and in target-weights mode.

One row per setting (and per sizing method and its value, per risk limit): on a small hand-made
panel built so that the setting has something to act on, the run with the setting changed from
its baseline differs from the baseline run in what the setting governs (equity, trades, orders,
risk events, positions, metrics or benchmark), or the changed configuration is refused with a
one-line error naming the key. Rows with ``reason`` also check that the orders the setting
rejects carry their true reason (never ``insufficient_cash`` when the cash was there). Rows with
``refuse`` must be refused. In the modes a row lists in ``same`` the value only names what the
default does there (``order_type: market`` for target weights, whose rebalances are market
orders): the run must be accepted and identical to the baseline. A last test checks that every
key of ``BacktestConfig`` has a row in both modes, so a new setting cannot be added without
showing what it does.

The panel (40 business days from Monday 2024-01-01, so a month boundary at bar 23):

- A rises 1 % a bar, drops 8 % at bar 12 and has one wide bar 8 (high +15 %, low -15 %);
- B falls 0.8 % a bar;
- C oscillates +/-10 around 100; bar 3 has a low 10 % under its open;
- every close carries a +/-1 % deterministic wiggle (volatility for ATR and vol sizing).

Target weights are acted on at bar 1 only (filled at bar 2), except in the rows about the
rebalance schedule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from alphaforge.config.backtest import BacktestConfig
from alphaforge.core.errors import AlphaforgeError
from alphaforge.data.panel import Panel
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Signals, TargetWeights
from tests.scenarios._helpers import Given

N = 40
SYMBOLS = ("A", "B", "C")


def _panel(volume: float = 1e9) -> Panel:
    t = np.arange(N, dtype=float)
    close = np.column_stack(
        [
            100.0 * (1 + 0.01 * t) * np.where(t >= 12, 0.92, 1.0),
            100.0 * (1 - 0.008 * t),
            100.0 + 10.0 * np.sin(t / 3.0),
        ]
    )
    close *= 1 + 0.01 * np.sin(2.3 * t[:, None] + 1.3 * np.arange(3))  # some noise
    open_ = np.vstack([close[:1], close[:-1]])
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    high[8, 0], low[8, 0] = close[8, 0] * 1.15, close[8, 0] * 0.85
    low[3, 2] = open_[3, 2] * 0.90
    index = pd.date_range("2024-01-01", periods=N, freq="B", tz="UTC", name="timestamp")
    return Panel(
        index=index, symbols=SYMBOLS, timeframe="1d", open=open_, high=high, low=low,
        close=close, volume=np.full((N, 3), volume),
    )  # fmt: skip


def _at(*bars: int) -> np.ndarray:
    out = np.zeros((N, 3), dtype=bool)
    out[list(bars)] = True
    return out


def longs() -> Signals:
    """Every symbol wants to be held from bar 2's signal to bar 30's."""
    return Signals(entries=_at(2), exits=_at(30))


def shorts() -> Signals:
    none = np.zeros((N, 3), dtype=bool)
    return Signals(entries=none, exits=none, short_entries=_at(2), short_exits=_at(30))


def limits() -> Signals:
    """Long entries at bar 2 with a limit 3 % under the close: not reached at bar 3's open."""
    close = _panel().close
    return Signals(
        entries=_at(2, 20),
        exits=_at(15, 30),
        limit_price=np.where(_at(2, 20), close * 0.97, np.nan),
    )


def churn() -> Signals:
    """A round trip every four bars (trade history for Kelly sizing)."""
    return Signals(entries=_at(*range(2, N - 2, 4)), exits=_at(*range(4, N - 2, 4)))


def late() -> Signals:
    """Every symbol wants to be held from bar 22's signal (ATR and volatility known) to 36's."""
    return Signals(entries=_at(22), exits=_at(36))


def weights(w: float = 0.3) -> TargetWeights:
    """Hold ``w`` of equity in each symbol, decided at bar 1."""
    out = np.full((N, 3), w)
    out[0] = np.nan
    return TargetWeights(weights=out, rebalance=_at(1)[:, 0])


def scheduled() -> TargetWeights:
    """Hold 0.3 of equity in each symbol from bar 1 on, on the configured schedule."""
    return TargetWeights(weights=weights().weights)


def short_weights() -> TargetWeights:
    return weights(-0.3)


def moving_weights() -> TargetWeights:
    """Targets that change at bar 10 and bar 25, acted on every bar."""
    out = np.full((N, 3), 0.3)
    out[10:25] = [0.5, 0.1, 0.3]
    out[25:] = [0.1, 0.5, 0.3]
    return TargetWeights(weights=out, rebalance=np.ones(N, dtype=bool))


Out = Callable[[], Signals | TargetWeights]


@dataclass(frozen=True)
class Row:
    key: str  # dotted config key
    value: Any  # the changed value
    governs: tuple[str, ...]  # outcome parts the setting must change
    base: dict[str, Any] = field(default_factory=dict)  # baseline on top of the defaults
    wbase: dict[str, Any] | None = None  # baseline in weights mode, when not ``base``
    out: dict[str, Out] = field(default_factory=dict)  # per mode, when not longs()/weights()
    reason: str | None = None  # rejections the setting causes must carry this reason
    refuse: bool = False  # the value must be refused
    same: tuple[str, ...] = ()  # modes where the value names what the default does: it must
    # run, change nothing and be recorded as the default's resolved value
    volume: float = 1e9

    def baseline(self, mode: str) -> dict[str, Any]:
        return self.base if mode == SIG or self.wbase is None else self.wbase

    @property
    def label(self) -> str:
        method = self.base.get("sizing", {}).get("method", "all_in")
        return f"{self.key}={self.value!r}" + (f"({method})" if self.key == "sizing.value" else "")


SIG, WTS = "signals", "weights"
FRACTION = {"sizing": {"method": "fraction", "value": 0.3}}  # signals only: sizing is refused
# for target weights, so weights-mode baselines (``wbase``) leave it out
EXITS = ("trades", "equity")
PORTFOLIO = ("orders", "positions", "equity")
RISK_EVENT = ("events", "trades", "equity")

ROWS: list[Row] = [
    Row("cash", 50_000.0, ("equity",)),
    Row("fill", "close", ("trades", "equity")),
    Row("direction", "short", ("trades", "equity"), out={SIG: shorts, WTS: short_weights}),
    Row("direction", "long_short", ("trades", "equity"), out={SIG: shorts, WTS: short_weights}),
    Row("order_type", "market", ("trades", "orders"), out={SIG: limits}, same=(WTS,)),
    Row("order_type", "limit", ("trades", "orders")),
    Row("order_type", "stop", ("trades", "orders")),
    Row("order_type", "stop_limit", ("trades", "orders")),
    Row("time_in_force", "gtc", ("trades", "orders"), out={SIG: limits}),
    Row("costs.commission", "0", ("equity", "trades")),
    Row("costs.slippage", "0", ("equity", "trades")),
    Row("costs.participation", 0.1, ("orders", "trades"), volume=100.0),
    Row("costs.borrow_fee", 0.2, ("equity",), base={"direction": "short"},
        out={SIG: shorts, WTS: short_weights}),
    Row("costs.margin", 1.5, ("equity", "orders"), base={"direction": "short"},
        out={SIG: shorts, WTS: short_weights}),
    Row("costs.cash_rate", 0.05, ("equity",), base=FRACTION, wbase={}),
    Row("exits.stop_loss", "5%", EXITS),
    Row("exits.stop_loss", 0.05, EXITS, refuse=True),  # a bare number is ambiguous
    Row("exits.take_profit", "10%", EXITS),
    Row("exits.take_profit", 0.1, EXITS, refuse=True),
    Row("exits.trailing_stop", "8%", EXITS, base=FRACTION, wbase={}),
    Row("exits.trailing_stop", 0.08, EXITS, refuse=True),
    Row("exits.max_bars", 5, EXITS),
    Row("exits.stop_on_entry_bar", False, EXITS, base={**FRACTION, "exits": {"stop_loss": "5%"}}, wbase={}),
    Row("exits.ambiguity", "target_first", EXITS,
        base={"exits": {"stop_loss": "5%", "take_profit": "10%"}}, wbase={}),
    Row("exits.ambiguity", "finer_bars", EXITS,
        base={"exits": {"stop_loss": "5%", "take_profit": "10%"}}, wbase={}),
    Row("exits.atr_period", 3, EXITS, base={**FRACTION, "exits": {"stop_loss": "1atr"}}, wbase={},
        out={SIG: late}),
    Row("sizing.method", "fraction", PORTFOLIO),
    Row("sizing.method", "cash", PORTFOLIO),
    Row("sizing.method", "shares", PORTFOLIO),
    Row("sizing.method", "risk", PORTFOLIO, base={"exits": {"stop_loss": "5%"}}, wbase={}),
    Row("sizing.method", "vol_target", PORTFOLIO, out={SIG: late}),
    Row("sizing.method", "kelly", PORTFOLIO),
    Row("sizing.value", 0.5, PORTFOLIO),  # all_in: half the cash
    Row("sizing.value", 0.2, PORTFOLIO, base={"sizing": {"method": "fraction"}}),
    Row("sizing.value", 5_000.0, PORTFOLIO, base={"sizing": {"method": "cash"}}),
    Row("sizing.value", 10.0, PORTFOLIO, base={"sizing": {"method": "shares"}}),
    Row("sizing.value", 0.002, PORTFOLIO,
        base={"sizing": {"method": "risk"}, "exits": {"stop_loss": "5%"}},
        wbase={"sizing": {"method": "risk"}}),
    Row("sizing.value", 0.05, PORTFOLIO, base={"sizing": {"method": "vol_target"}},
        out={SIG: late}),
    Row("sizing.value", 0.2, PORTFOLIO, out={SIG: churn},
        base={"sizing": {"method": "kelly", "kelly_min_trades": 2}}),
    Row("sizing.fractional", True, ("orders", "positions", "equity")),
    Row("sizing.vol_lookback", 5, PORTFOLIO, base={"sizing": {"method": "vol_target"}},
        out={SIG: late}),
    Row("sizing.kelly_lookback", 2, PORTFOLIO, out={SIG: churn},
        base={"sizing": {"method": "kelly", "kelly_min_trades": 2}}),
    Row("sizing.kelly_min_trades", 2, PORTFOLIO, out={SIG: churn},
        base={"sizing": {"method": "kelly"}}),
    Row("sizing.kelly_fallback", 0.3, PORTFOLIO, out={SIG: churn},
        base={"sizing": {"method": "kelly"}}),
    Row("risk.max_positions", 1, PORTFOLIO, base=FRACTION, wbase={}, reason="max_positions"),
    Row("risk.max_weight", 0.2, PORTFOLIO, base=FRACTION, wbase={}, reason="max_weight"),
    # without a sector map every symbol is its own sector: the cap binds per symbol
    Row("risk.max_sector_exposure", 0.05, PORTFOLIO, reason="max_sector_exposure",
        base=FRACTION, wbase={}),
    Row("risk.sectors", {"A": "tech", "B": "tech", "C": "banks"}, PORTFOLIO,
        reason="max_sector_exposure", base={**FRACTION, "risk": {"max_sector_exposure": 0.4}},
        wbase={"risk": {"max_sector_exposure": 0.4}}),
    Row("risk.min_cash", 0.5, PORTFOLIO, base=FRACTION, wbase={}, reason="min_cash_reserve"),
    Row("risk.max_gross_leverage", 0.5, PORTFOLIO, base=FRACTION, wbase={}, reason="max_leverage"),
    Row("risk.max_net_leverage", 0.5, PORTFOLIO, base=FRACTION, wbase={}, reason="max_leverage"),
    Row("risk.max_trade_loss", 0.02, RISK_EVENT, base=FRACTION, wbase={}),
    Row("risk.daily_loss_limit", 0.01, ("events",)),
    Row("risk.weekly_loss_limit", 0.01, ("events",)),
    Row("risk.max_drawdown", 0.04, RISK_EVENT),
    Row("risk.drawdown_action", "halt", RISK_EVENT, base={"risk": {"max_drawdown": 0.04}},
        out={SIG: churn, WTS: moving_weights}),
    Row("risk.drawdown_action", "flatten", RISK_EVENT, base={"risk": {"max_drawdown": 0.04}},
        out={SIG: churn, WTS: moving_weights}),
    Row("rebalance", "every_bar", PORTFOLIO, out={WTS: scheduled}),
    Row("drift_band", 0.05, ("orders",), out={WTS: moving_weights}),
    Row("timeframe", "1h", ("metrics",)),
    Row("calendar", "24/7", ("metrics",)),
    Row("periods_per_year", 52.0, ("metrics",)),
    Row("risk_free", 0.05, ("metrics",)),
    Row("benchmark", "B", ("benchmark", "metrics")),
    Row("record_positions", False, ("positions",)),
    Row("seed", 1, (), refuse=True),  # read nowhere: no longer a setting
]  # fmt: skip


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _dotted(key: str, value: Any) -> dict[str, Any]:
    head, _, rest = key.partition(".")
    return {head: _dotted(rest, value) if rest else value}


def _run(cfg: dict[str, Any], out: Signals | TargetWeights, volume: float) -> BacktestResult:
    config = BacktestConfig.build(cfg, source="backtest config")
    return run_backtest(Given(out), _panel(volume), config)


def _parts(res: BacktestResult) -> dict[str, Any]:
    return {
        "equity": res.equity_values,
        "trades": res.trades,
        "orders": res.orders,
        "events": res.risk_events,
        "positions": res.positions,
        "benchmark": res.benchmark_values,
        "metrics": pd.Series(res.metrics, dtype=float).sort_index(),
    }


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, pd.DataFrame | pd.Series):
        return bool(a.equals(b))
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True))


def _rejected(res: BacktestResult) -> Counter[str]:
    o = res.orders
    return Counter(o.loc[o.status == "rejected", "reason"])


CASES = [pytest.param(r, m, id=f"{m}-{r.label}") for r in ROWS for m in (SIG, WTS)]


@pytest.mark.parametrize(("row", "mode"), CASES)
def test_setting_acts_or_is_refused(row: Row, mode: str) -> None:
    out = row.out.get(mode, longs if mode == SIG else weights)()
    changed_cfg = _merge(row.baseline(mode), _dotted(row.key, row.value))
    try:
        changed = _run(changed_cfg, out, row.volume)
    except AlphaforgeError as exc:
        msg = str(exc)
        leaf = row.key.rsplit(".", 1)[-1]
        assert "\n" not in msg.strip(), f"{row.label}: error is not one line: {msg!r}"
        assert row.key in msg or leaf in msg, f"{row.label}: error does not name the key: {msg}"
        return
    assert not row.refuse, f"{row.label} ({mode}) must be refused, but it ran"
    base = _run(row.baseline(mode), out, row.volume)
    before, after = _parts(base), _parts(changed)
    if mode in row.same:  # rebalances are market orders: `market` says what `auto` does
        differ = [p for p in before if not _same(before[p], after[p])]
        assert not differ, f"{row.label} ({mode}) changes {', '.join(differ)}"
        assert changed.config == base.config, f"{row.label} ({mode}) is recorded differently"
        return
    moved = [p for p in row.governs if not _same(before[p], after[p])]
    assert moved, (
        f"{row.label} ({mode}) changes none of {', '.join(row.governs)} and is not refused"
    )
    if row.reason is not None:
        extra = _rejected(changed) - _rejected(base)
        wrong = {r: n for r, n in extra.items() if r != row.reason}
        assert not wrong, f"{row.label} ({mode}): rejections {wrong}, expected {row.reason!r}"


def _leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            keys += _leaf_keys(sub, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


# Settings that act before the simulator runs, so a run on a given panel cannot show them; each
# has its own test of what it does.
ACTS_BEFORE_THE_RUN = {
    "adjust": "prices loaded adjusted or raw (tests/integration/test_bad_inputs.py)",
    "costs.allow_high": "admits costs above 10% (tests/unit/config/test_cost_limits.py)",
}


def test_every_setting_has_a_row_in_both_modes() -> None:
    keys = set(_leaf_keys(BacktestConfig)) - set(ACTS_BEFORE_THE_RUN)
    covered = {r.key for r in ROWS if not r.refuse}
    assert keys - covered == set(), f"settings without a row: {sorted(keys - covered)}"
    methods = BacktestConfig.model_fields["sizing"].annotation.model_fields["method"].annotation  # type: ignore[union-attr]
    default_method = BacktestConfig().sizing.method
    for m in set(methods.__args__) - {default_method}:
        assert any(r.key == "sizing.method" and r.value == m for r in ROWS), m
    for m in methods.__args__:  # every method's value
        assert any(
            r.key == "sizing.value"
            and _merge({"sizing": {"method": default_method}}, r.base)["sizing"]["method"] == m
            for r in ROWS
        ), f"no sizing.value row for method {m}"


@pytest.mark.parametrize(
    ("cfg", "key"),
    [
        ({"sizing": {"vol_lookback": 30}}, "sizing.vol_lookback"),
        ({"sizing": {"method": "fraction", "kelly_lookback": 30}}, "sizing.kelly_lookback"),
        ({"exits": {"atr_period": 20}}, "exits.atr_period"),
        ({"risk": {"drawdown_action": "halt"}}, "risk.drawdown_action"),
    ],
)
def test_a_refinement_of_a_rule_not_in_use_is_refused(cfg: dict[str, Any], key: str) -> None:
    """A lookback of another sizing method, an ATR period nothing uses, a sector map without a
    sector cap or a drawdown action without a drawdown limit would change nothing."""
    with pytest.raises(AlphaforgeError, match=f"^{key}: acts only with|^{key}: nothing uses"):
        _run(cfg, longs(), 1e9)


def test_a_schedule_is_refused_when_the_strategy_gives_its_rebalance_bars() -> None:
    with pytest.raises(AlphaforgeError, match=r"^rebalance: the strategy gives its own"):
        _run({"rebalance": "weekly"}, moving_weights(), 1e9)
    _run({"rebalance": "monthly"}, moving_weights(), 1e9)  # the default: nothing to refuse
