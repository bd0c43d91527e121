# Two entry points (see README): `make demo` and `make test`. Everything else supports them.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt

.PHONY: demo test check lint typecheck django-checks test-sqlite test-postgres test-e2e schemathesis install install-dev assets browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==25.3"

$(STAMP): $(BIN)/python pyproject.toml $(LOCK)
	$(BIN)/pip install --quiet -c $(LOCK) -e ".[dev]"
	touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || (echo "npm is missing: installing Debian's nodejs and npm" && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm)
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch node_modules/.installed

install: $(STAMP) node_modules/.installed
install-dev: install

assets: node_modules/.installed

## Install and start the demo on http://127.0.0.1:8000
demo: install
	$(BIN)/wangge demo

## Install and run every check: lint, types, Django checks, tests on SQLite and PostgreSQL,
## browser tests and the API fuzz run.
test: install browser
	bash scripts/check.sh

check: install
	bash scripts/check.sh

browser:
	@bash scripts/ensure-chromium.sh

clean:
	rm -rf $(VENV) node_modules var .mypy_cache .ruff_cache
