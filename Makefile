# alphaforge — two commands on a fresh machine: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
export ALPHAFORGE_DEMO_HOME ?= $(CURDIR)/.demo

.PHONY: demo test lint format bench bench-quick clean help

help:
	@echo "make demo        set up .venv and run the offline demo (sample data, backtest, report)"
	@echo "make test        set up .venv with dev dependencies and run the whole test suite"
	@echo "make lint        ruff + mypy"
	@echo "make bench       full benchmarks against vectorbt, backtesting.py, backtrader"
	@echo "make bench-quick the same, smaller (< 5 minutes)"

$(VENV)/.base:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip uv
	touch $@

# byte-compile once (start-up time matters even where PYTHONDONTWRITEBYTECODE is set)
COMPILE = $(PY) -m compileall -q -j 0 $(VENV)/lib src >/dev/null 2>&1 || true

$(VENV)/.core: $(VENV)/.base pyproject.toml
	$(UV) pip install -q --python $(PY) -e .
	$(COMPILE)
	touch $@

$(VENV)/.dev: $(VENV)/.base pyproject.toml
	$(UV) pip install -q --python $(PY) -e ".[dev]"
	$(COMPILE)
	touch $@ $(VENV)/.core

demo: $(VENV)/.core
	$(VENV)/bin/alphaforge --home "$(ALPHAFORGE_DEMO_HOME)" demo

test: $(VENV)/.dev
	$(VENV)/bin/lint-imports --no-logo --no-cache  # layering contracts in pyproject.toml
	$(PY) -m pytest -q

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

format: $(VENV)/.dev
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

bench: $(VENV)/.dev
	$(PY) -m benchmarks.run --full

bench-quick: $(VENV)/.dev
	$(PY) -m benchmarks.run --quick

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache
