"""Integer codes shared by the Numba kernel and its Python wrappers: sizing methods, ambiguity
policies, exit and order reasons, order statuses and risk rules, with their names.

The settings and records themselves are structured dtypes with named fields
(:mod:`alphaforge.sim.records`).
"""

from __future__ import annotations

# --- sizing methods ---------------------------------------------------------------------------
SIZE_ALL_IN = 0
SIZE_FRACTION = 1
SIZE_CASH = 2
SIZE_SHARES = 3
SIZE_RISK = 4
SIZE_VOL_TARGET = 5
SIZE_KELLY = 6
SIZING_NAMES = ("all_in", "fraction", "cash", "shares", "risk", "vol_target", "kelly")

# --- intrabar ambiguity policy ----------------------------------------------------------------
AMB_STOP_FIRST = 0
AMB_TARGET_FIRST = 1
AMB_FINER_BARS = 2
AMBIGUITY_NAMES = ("stop_first", "target_first", "finer_bars")

# --- exit reasons -----------------------------------------------------------------------------
EXIT_SIGNAL = 0
EXIT_STOP_LOSS = 1
EXIT_TAKE_PROFIT = 2
EXIT_TRAILING_STOP = 3
EXIT_TIME = 4
EXIT_RISK_LIMIT = 5
EXIT_END_OF_DATA = 6
EXIT_REBALANCE = 7
EXIT_NAMES = (
    "signal",
    "stop_loss",
    "take_profit",
    "trailing_stop",
    "time",
    "risk_limit",
    "end_of_data",
    "rebalance",
)

STATUS_FILLED = 0
STATUS_PARTIAL = 1
STATUS_REJECTED = 2
STATUS_EXPIRED = 3
STATUS_NAMES = ("filled", "partial", "rejected", "expired")

# order reasons: exits reuse EXIT_* (0..7); entries and rejections below
REASON_ENTRY = 10
REASON_NO_CASH = 11
REASON_MAX_POSITIONS = 12
REASON_MAX_WEIGHT = 13
REASON_SECTOR = 14
REASON_LEVERAGE = 15
REASON_CASH_RESERVE = 16
REASON_DAILY_LOSS = 17
BLOCK_NEXT_BAR = -2
"""The risk state's ``blocked_day`` after a daily loss limit fired on bars of a day or longer:
no bar is left in that day, so the limit blocks the next bar (its open, intrabar and close
entries). The start of that bar turns it into :data:`BLOCK_THIS_BAR`, the start of the bar
after lifts it."""
BLOCK_THIS_BAR = -3
REASON_WEEKLY_LOSS = 18
REASON_HALTED = 19
REASON_ZERO_SIZE = 20
REASON_NO_STOP = 21
REASON_NO_PRICE = 22
REASON_ADOPT = 23  # the runtime adopted a position changed at the broker
REASON_NAMES = {
    **dict(enumerate(EXIT_NAMES)),
    REASON_ENTRY: "entry",
    REASON_NO_CASH: "insufficient_cash",
    REASON_MAX_POSITIONS: "max_positions",
    REASON_MAX_WEIGHT: "max_weight",
    REASON_SECTOR: "max_sector_exposure",
    REASON_LEVERAGE: "max_leverage",
    REASON_CASH_RESERVE: "min_cash_reserve",
    REASON_DAILY_LOSS: "daily_loss_limit",
    REASON_WEEKLY_LOSS: "weekly_loss_limit",
    REASON_HALTED: "halted_by_drawdown",
    REASON_ZERO_SIZE: "size_rounds_to_zero",
    REASON_NO_STOP: "risk_sizing_without_stop",
    REASON_NO_PRICE: "no_price",
    REASON_ADOPT: "adopted_from_broker",
}

# --- risk events ------------------------------------------------------------------------------
RULE_DAILY_LOSS = 0
RULE_WEEKLY_LOSS = 1
RULE_MAX_DD = 2
RULE_TRADE_MAX_LOSS = 3
RULE_NAMES = ("daily_loss_limit", "weekly_loss_limit", "max_drawdown", "trade_max_loss")
