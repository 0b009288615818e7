# deconflict: the README's contract. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/deconflict demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest --cov=deconflict --cov-report=term:skip-covered

test: lint typecheck unit

# BlueSky (the tactical reference) lives in its own environment, never imported by ours.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet "bluesky-simulator==1.1.1"
	touch $@

bench: $(STAMP) $(BENCH_VENV)/.installed
	$(BIN)/python benchmarks/strategic.py --volumes 100000
	$(BIN)/python benchmarks/tactical.py --n 1000 5000 10000
	$(BIN)/python benchmarks/channel.py --messages 2000 --seconds 60 --senders 8

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
