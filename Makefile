VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast e2e bench lint install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

HOST ?= 127.0.0.1
PORT ?= 5000

## run: the app on http://$(HOST):$(PORT) with a worker, embedded PostgreSQL + Redis, demo data
run: $(STAMP)
	$(BIN)/crm run --host $(HOST) --port $(PORT)

## test: the whole suite (unit, integration on real PostgreSQL + Redis, e2e in Chromium)
test: $(STAMP)
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not e2e"

bench: $(STAMP)
	$(BIN)/python -m bench.run

lint: $(STAMP)
	$(BIN)/ruff check app tests bench

clean:
	rm -rf $(VENV) instance .pytest_cache
