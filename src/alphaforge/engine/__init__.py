"""The event-driven runtime: clock and schedule, feed, risk gate, order manager, trading node.

Replay, paper and live trading run the same node; they differ only in the market clock, feed
and venue plugged in (the ports of :mod:`alphaforge.ports`). ``engine`` sits above ``sim`` (it
calls the simulator's compiled rules) and never imports ``alphaforge.data``: adapters are passed
in by the composition layer.
"""
