"""The bar loop: open, intrabar and close phases over the account, the pending orders and the
risk state, in the order the README's "Semantics" section documents."""

from __future__ import annotations

import math

from tests.reference.account import Account
from tests.reference.costs import whole
from tests.reference.entries import enter
from tests.reference.exits import first_in_finer_bars, has_levels, protective_stop, touched
from tests.reference.model import Market, RefConfig, SignalInput, WeightInput
from tests.reference.orders import PendingBook
from tests.reference.rebalance import rebalance
from tests.reference.records import Event, RefResult
from tests.reference.risk import RiskState
from tests.reference.sizing import rolling_vol

NAN = math.nan


def _isnan(x: float) -> bool:
    return x != x


class Run:
    """State of one simulation; each method is one phase of a bar."""

    def __init__(self, cfg: RefConfig, market: Market, strat: SignalInput | WeightInput) -> None:
        self.cfg, self.m, self.strat = cfg, market, strat
        self.account = Account(cfg.cash, cfg.costs)
        self.book = PendingBook()
        self.risk = RiskState(cfg.risk, cfg.cash, market.day, market.week)
        self.last_px = [NAN] * market.n_symbols
        self.pending_rebalance: int | None = None
        self.ambiguous = 0
        self.trade_events: list[Event] = []
        self.result = RefResult()
        ppy = cfg.periods_per_year
        self.r_cash = (1.0 + cfg.costs.cash_rate) ** (1.0 / ppy) - 1.0
        self.r_borrow = cfg.costs.borrow_fee / ppy
        self.vol: list[list[float]] | None = None
        if cfg.sizing.method == "vol_target":
            cols = [
                rolling_vol([row[j] for row in market.close], cfg.sizing.vol_lookback, ppy)
                for j in range(market.n_symbols)
            ]
            self.vol = [list(r) for r in zip(*cols, strict=True)]

    # ---- helpers ------------------------------------------------------------------------------
    def atr(self, t: int, j: int) -> float:
        return self.m.atr[t][j] if self.m.atr is not None else NAN

    def capped(self, want: float, volume: float) -> float:
        """Quantity the volume participation cap lets fill of ``want`` in one bar."""
        p = self.cfg.costs.participation
        if p > 0.0 and not _isnan(volume) and volume < math.inf:
            return min(want, whole(p * volume, self.cfg.sizing.fractional))
        return want

    def priority(self, t: int, j: int) -> float:
        pr = self.strat.priority
        return pr[t][j] if pr is not None else 0.0

    # ---- the bar ------------------------------------------------------------------------------
    def bar(self, t: int) -> None:
        eq_before = self.result.equity[-1] if self.result.equity else self.cfg.cash
        self.risk.start_bar(t, eq_before)
        opens = self.m.open[t]
        if self.cfg.fill == "next_open":
            self.market_exits(t, opens, max(t - 1, 0))
            if self.pending_rebalance is not None:
                rebalance(self, t, opens, self.pending_rebalance)
                self.pending_rebalance = None
            enter(self, t, opens, market=True)
        opened = enter(self, t, opens, market=False)
        self.protective_exits(t, opened)
        equity = self.mark(t)
        flatten = self.risk.at_close(t, equity)
        self.new_orders(t, flatten)
        if self.cfg.fill == "close":
            closes = self.m.close[t]
            self.market_exits(t, closes, t)
            if self.pending_rebalance is not None:
                rebalance(self, t, closes, self.pending_rebalance)
                self.pending_rebalance = None
            enter(self, t, closes, market=True)
            equity = self.account.marks(self.last_px, self.last_px)[0]
        self.result.equity.append(equity)
        self.result.cash.append(self.account.cash)
        self.result.positions.append([self.account.qty(j) for j in range(self.m.n_symbols)])
        if self.cfg.time_in_force == "day":
            self.expire(t)

    def market_exits(self, t: int, prices: list[float], atr_bar: int) -> None:
        """Pending market exits fill first (a capped one keeps its rest pending)."""
        for j in sorted(self.book.exits):
            px = prices[j]
            if _isnan(px):
                continue
            q = self.account.qty(j)
            if q != 0.0:
                fill = self.capped(abs(q), self.m.volume[t][j])
                if fill > 0.0:
                    slip = self.cfg_slip(px, self.atr(atr_bar, j))
                    side = -1 if q > 0 else 1
                    self.account.fill(j, t, side * fill, px, slip, self.book.exits[j], abs(q))
            if self.account.qty(j) == 0.0:
                del self.book.exits[j]

    def cfg_slip(self, price: float, atr: float) -> float:
        from tests.reference.costs import slippage

        return slippage(self.cfg.costs, price, atr)

    def protective_exits(self, t: int, opened: set[int]) -> None:
        """Stops, targets, trailing stops and the max-loss level, checked from the bar's range."""
        ex = self.cfg.exits
        for j in sorted(self.account.positions):
            pos = self.account.positions[j]
            o, h, lo = self.m.open[t][j], self.m.high[t][j], self.m.low[t][j]
            if _isnan(o) or not has_levels(pos):
                continue
            if pos.fill_bar == t and (not ex.stop_on_entry_bar or self.cfg.fill == "close"):
                continue
            use_target = j not in opened
            if not use_target:  # filled inside this bar: the rest of the bar starts at the fill
                o = min(max(pos.entry_price, lo), h)
            px, why, both = touched(pos, o, h, lo, use_target)
            if both:
                self.ambiguous += 1
                pos.ambiguous = True
                stop, why = protective_stop(pos)
                first = "stop" if ex.ambiguity == "stop_first" else "target"
                if ex.ambiguity == "finer_bars":
                    fine = self.m.fine.get((t, j)) if self.m.fine is not None else None
                    first = first_in_finer_bars(pos, fine, stop, pos.target)
                px, why = (stop, why) if first == "stop" else (pos.target, "take_profit")
            if _isnan(px):
                continue
            d = pos.direction
            if why == "risk_limit":
                move = px / pos.entry_price - 1.0
                self.trade_events.append(Event(t, "trade_max_loss", j, d * move))
            slip = self.cfg_slip(px, self.atr(max(t - 1, 0), j))
            self.account.fill(j, t, -pos.qty, px, slip, why, abs(pos.qty))
            self.book.exits.pop(j, None)
            self.book.cancel_rest(j)

    def mark(self, t: int) -> float:
        """Close: interest on cash, borrow on shorts, marks and the extremes of each position."""
        acc = self.account
        if t > 0 and self.r_cash != 0.0:
            acc.cash += acc.cash * self.r_cash
        net = 0.0
        for j in range(self.m.n_symbols):
            c = self.m.close[t][j]
            if not _isnan(c):
                self.last_px[j] = c
            pos = acc.positions.get(j)
            if pos is None:
                continue
            px = self.last_px[j]
            if pos.qty < 0 and t > 0:
                acc.cash -= -pos.qty * px * self.r_borrow
            if not _isnan(c) and not (self.cfg.fill == "close" and pos.fill_bar == t):
                pos.peak = max(pos.peak, self.m.high[t][j])
                pos.trough = min(pos.trough, self.m.low[t][j])
            net += pos.qty * px
        return acc.cash + net

    def new_orders(self, t: int, flatten: bool) -> None:
        """The bar's signals (or target weights) and the exit rules become orders."""
        if flatten:
            self.pending_rebalance = None
        ex = self.cfg.exits
        for j in range(self.m.n_symbols):
            q = self.account.qty(j)
            if isinstance(self.strat, SignalInput) and not _isnan(self.m.close[t][j]):
                self.signal_orders(t, j, q)
            if q != 0.0 and ex.max_bars and j not in self.book.exits:
                pos = self.account.positions[j]
                held = t - pos.entry_bar + (0 if self.cfg.fill == "close" else 1)
                if held >= ex.max_bars:
                    self.book.exit(j, "time")
            if flatten:
                self.book.entries.pop(j, None)
                if q != 0.0:
                    self.book.exits[j] = "risk_limit"
        if isinstance(self.strat, WeightInput) and self.strat.rebalance[t]:
            self.pending_rebalance = t

    def signal_orders(self, t: int, j: int, q: float) -> None:
        s, direction = self.strat, self.cfg.direction
        assert isinstance(s, SignalInput)

        def flag(a: list[list[bool]] | None) -> bool:
            return bool(a[t][j]) if a is not None else False

        le = direction != "short" and flag(s.entries)
        se = direction != "long" and flag(s.short_entries)
        lim = s.limit_price[t][j] if s.limit_price is not None else NAN
        stp = s.stop_price[t][j] if s.stop_price is not None else NAN
        self.book.from_signals(j, t, q, (le, flag(s.exits), se, flag(s.short_exits)), (lim, stp))

    def expire(self, t: int) -> None:
        """Day orders: a limit / stop entry not filled in the bar after its signal expires."""
        for j in sorted(self.book.entries):
            e = self.book.entries[j]
            if e.signal_bar < t and not e.is_market:
                self.account.expire(j, t, e.direction)
                del self.book.entries[j]

    def finish(self) -> RefResult:
        self.account.close_at_end(self.m.n_bars - 1, self.last_px)
        r = self.result
        r.trades, r.orders, r.ambiguous_bars = (
            self.account.trades,
            self.account.orders,
            self.ambiguous,
        )
        r.events = sorted(self.risk.events + self.trade_events, key=lambda e: e.bar)
        return r


def simulate(cfg: RefConfig, market: Market, strat: SignalInput | WeightInput) -> RefResult:
    """Run ``strat`` over ``market`` under ``cfg``, bar by bar."""
    run = Run(cfg, market, strat)
    for t in range(market.n_bars):
        run.bar(t)
    return run.finish()
