"""Account-wide risk rules: daily and weekly loss limits and the drawdown circuit breaker."""

from __future__ import annotations

from tests.reference.model import RiskRules
from tests.reference.records import Event


class RiskState:
    """Reference equities of the day, the week and the peak; what is blocked or halted."""

    def __init__(self, rules: RiskRules, cash: float, day: list[int], week: list[int]) -> None:
        self.rules = rules
        self.day, self.week = day, week
        self.day_start = self.week_start = self.peak = cash
        self.blocked_day: int | None = None
        # bars of a day or longer (no two bars share a day): no bar is left in the day a daily
        # loss limit fires in, so it blocks the next bar instead
        self.daily_bars = len(set(day)) == len(day)
        self.blocked_bar: int | None = None
        self.blocked_week: int | None = None
        self.halted = False
        self.armed = True  # the breaker fires once per new peak
        self.events: list[Event] = []

    def start_bar(self, t: int, equity_before: float) -> None:
        """A new day / week starts from the equity at the previous bar's close."""
        if t > 0 and self.day[t] != self.day[t - 1]:
            self.day_start = equity_before
        if t > 0 and self.week[t] != self.week[t - 1]:
            self.week_start = equity_before

    def blocked(self, t: int) -> str | None:
        """Why no position may be opened or increased at bar ``t`` (None if it may)."""
        if self.halted:
            return "halted_by_drawdown"
        if self.blocked_day == self.day[t] or self.blocked_bar == t:
            return "daily_loss_limit"
        if self.blocked_week == self.week[t]:
            return "weekly_loss_limit"
        return None

    def at_close(self, t: int, equity: float) -> bool:
        """Evaluate the rules on bar ``t``'s closing equity; True when positions must go flat."""
        r = self.rules
        day_floor = self.day_start * (1.0 - (r.daily_loss_limit or 0.0))
        if r.daily_loss_limit and self.blocked_day != self.day[t] and equity < day_floor:
            self.blocked_day = self.day[t]
            if self.daily_bars:
                self.blocked_bar = t + 1
            self.events.append(Event(t, "daily_loss_limit", -1, equity / self.day_start - 1))
        week_floor = self.week_start * (1.0 - (r.weekly_loss_limit or 0.0))
        if r.weekly_loss_limit and self.blocked_week != self.week[t] and equity < week_floor:
            self.blocked_week = self.week[t]
            self.events.append(Event(t, "weekly_loss_limit", -1, equity / self.week_start - 1))
        if equity > self.peak:
            self.peak = equity
            self.armed = True
        if r.max_drawdown and self.armed and equity < self.peak * (1.0 - r.max_drawdown):
            self.armed = False
            self.events.append(Event(t, "max_drawdown", -1, equity / self.peak - 1.0))
            if r.drawdown_action != "flatten":
                self.halted = True
            return r.drawdown_action != "halt"
        return False
