"""Integer codes shared by the Numba kernel and its Python wrappers.

The kernel takes its scalar settings in one float64 vector (``F_*`` indices) so that adding a
setting never changes the kernel's signature; records are float64 matrices whose columns are
the ``TR_*``/``OR_*``/``EV_*`` indices.
"""

from __future__ import annotations

# --- scalar settings vector -------------------------------------------------------------------
F_INIT_CASH = 0
F_FILL_CLOSE = 1  # 1.0: fill at the signal bar's close (optimistic); 0.0: next bar's open
F_DIRECTION = 2  # 0 long only, 1 short only, 2 long and short
F_COMM_PCT = 3
F_COMM_SHARE = 4
F_COMM_MIN = 5  # minimum of the per-share commission per order
F_COMM_MAX_PCT = 6  # cap of the per-share commission as a fraction of order value
F_COMM_FIXED = 7
F_SLIP_BPS = 8  # fixed slippage, fraction of price
F_SPREAD = 9  # full bid-ask spread as a fraction of price; half of it is paid per fill
F_SLIP_ATR = 10  # slippage as a multiple of ATR (per share)
F_PARTICIPATION = 11  # max fraction of bar volume per fill; 0 = no cap
F_BORROW = 12  # annual short borrow fee
F_MARGIN = 13  # margin requirement on shorts (fraction of short value), e.g. 1.5 (Reg T)
F_CASH_RATE = 14  # annual rate earned on cash (paid when negative)
F_PPY = 15  # periods per year (for borrow and cash interest)
F_SIZING = 16
F_SIZE_VALUE = 17
F_FRACTIONAL = 18
F_STOP_ON_ENTRY = 19
F_AMBIGUITY = 20
F_MAX_BARS = 21  # time exit: 0 = none
F_MAX_POSITIONS = 22  # 0 = unlimited
F_MAX_WEIGHT = 23  # 0 = unlimited
F_SECTOR_CAP = 24  # 0 = unlimited
F_MIN_CASH = 25  # reserve, fraction of equity
F_MAX_GROSS = 26  # 0 = unlimited
F_MAX_NET = 27  # 0 = unlimited
F_TRADE_MAX_LOSS = 28  # per-trade max loss, fraction of equity at entry; 0 = none
F_DAILY_LOSS = 29
F_WEEKLY_LOSS = 30
F_MAX_DD = 31
F_DD_ACTION = 32  # 1 flatten, 2 halt, 3 flatten and halt
F_WEIGHTS_MODE = 33
F_DRIFT_BAND = 34
F_KELLY_LOOKBACK = 35
F_KELLY_MIN = 36
F_KELLY_FALLBACK = 37
F_TIF_GTC = 38  # 1.0: limit/stop entries stay until filled; 0.0: valid for one bar (day)
F_RECORD = 39  # 1.0: keep per-bar positions
F_EQUITY_ONLY = 40  # 1.0: of the per-bar series keep equity only (metrics-only batch runs)
N_FIELDS = 41

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

# --- trade record columns ---------------------------------------------------------------------
TR_SYMBOL = 0
TR_DIRECTION = 1
TR_ENTRY_BAR = 2
TR_EXIT_BAR = 3
TR_ENTRY_PRICE = 4
TR_EXIT_PRICE = 5
TR_QTY = 6
TR_FEES = 7
TR_SLIPPAGE = 8
TR_PNL = 9
TR_RETURN = 10
TR_MAE = 11
TR_MFE = 12
TR_BARS_HELD = 13
TR_EXIT_REASON = 14
TR_AMBIGUOUS = 15
TR_NCOLS = 16

# --- order record columns ---------------------------------------------------------------------
OR_BAR = 0
OR_SYMBOL = 1
OR_SIDE = 2  # +1 buy, -1 sell
OR_QTY = 3  # filled quantity
OR_PRICE = 4
OR_FEE = 5
OR_STATUS = 6
OR_REASON = 7
OR_REQUESTED = 8
OR_NCOLS = 9

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
REASON_WEEKLY_LOSS = 18
REASON_HALTED = 19
REASON_ZERO_SIZE = 20
REASON_NO_STOP = 21
REASON_NO_PRICE = 22
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
}

# --- risk events ------------------------------------------------------------------------------
EV_BAR = 0
EV_RULE = 1
EV_SYMBOL = 2
EV_VALUE = 3
EV_NCOLS = 4
RULE_DAILY_LOSS = 0
RULE_WEEKLY_LOSS = 1
RULE_MAX_DD = 2
RULE_TRADE_MAX_LOSS = 3
RULE_NAMES = ("daily_loss_limit", "weekly_loss_limit", "max_drawdown", "trade_max_loss")
