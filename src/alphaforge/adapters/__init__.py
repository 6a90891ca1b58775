"""Adapters to the outside world that the runtime plugs in: brokers (execution venues), later
live feeds and notifications. Each implements a port of :mod:`alphaforge.ports`."""
