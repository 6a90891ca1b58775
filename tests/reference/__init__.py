"""An independent, plain-Python bar-by-bar simulator of the documented backtest semantics.

Written from the README's "Semantics" section (chronology inside a bar, fills, costs, exits,
sizing, risk), one small class per concern, plain floats and lists. The property tests in
``tests/property/test_reference_*.py`` hold the compiled engine to it.
"""

from tests.reference.model import (
    Costs,
    ExitRules,
    Level,
    Market,
    RefConfig,
    RiskRules,
    SignalInput,
    Sizing,
    WeightInput,
)
from tests.reference.records import Event, Order, RefResult, Trade
from tests.reference.simulator import simulate

__all__ = [
    "Costs",
    "Event",
    "ExitRules",
    "Level",
    "Market",
    "Order",
    "RefConfig",
    "RefResult",
    "RiskRules",
    "SignalInput",
    "Sizing",
    "Trade",
    "WeightInput",
    "simulate",
]
