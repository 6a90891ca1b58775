"""Settings (environment, .env) and run specifications (YAML)."""
