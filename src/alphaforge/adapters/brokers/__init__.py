"""Execution venues at brokers, each behind :class:`alphaforge.ports.ExecutionVenue`.

``alpaca``: :class:`~alphaforge.adapters.brokers.alpaca.AlpacaVenue` (alpaca-py). Modules are
imported on use so that a vendor SDK is loaded only by the runtime that needs it.
"""
