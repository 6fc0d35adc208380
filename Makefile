# One entry point for people and CI. `make run` and `make check` set up what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: run check test lint format typecheck imports proto proto-check bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

## run: development PKI (kept if present), SQLite, partners/ — then serve over mutual TLS.
run: $(VENV)/.installed
	$(BIN)/aeo-gateway certs init
	$(BIN)/aeo-gateway serve

## check: everything CI runs: lint, format, types, import contracts, generated code, tests.
check: lint typecheck imports proto-check test

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports

test: $(VENV)/.installed-dev
	$(PY) -m pytest --cov --cov-report=term

## proto: regenerate gateway/pb from protos/ (never edit gateway/pb by hand).
proto: $(VENV)/.installed-dev
	PATH=$(BIN):$$PATH $(PY) tools/genproto.py

proto-check: $(VENV)/.installed-dev
	PATH=$(BIN):$$PATH $(PY) tools/genproto.py --check

bench: $(VENV)/.installed-dev
	$(PY) -m bench.ingest
	$(PY) -m bench.recognition

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
