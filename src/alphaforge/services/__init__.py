"""Use cases: the composition root that picks concrete adapters for the CLI and the API."""
