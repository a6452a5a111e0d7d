# Thin front door. Every target that needs the toolchain installs it first, so
# `make demo` or `make test` alone work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
NODE_BIN := $(CURDIR)/node_modules/.bin
export FOUNDRY_SOLC := $(CURDIR)/contracts/tools/solc
export PATH := $(CURDIR)/$(VENV)/bin:$(NODE_BIN):$(PATH)

PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed

.PHONY: setup chromium postgresql test test-python test-contracts demo bench bench-full lint artifacts soak clean

setup: $(PY_STAMP) $(NPM_STAMP) chromium postgresql

# The dashboard's browser tests drive Debian's chromium through Playwright
# (`playwright install` cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { \
	  [ "$$(id -u)" = 0 ] || { echo "setup: chromium is missing; run: sudo apt-get install chromium chromium-driver" >&2; exit 1; }; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; }

# The node database's PostgreSQL tests start a throw-away cluster on a loopback port from
# Debian's server binaries (no system cluster is created or started).
postgresql:
	@test -x /usr/lib/postgresql/15/bin/initdb || { \
	  [ "$$(id -u)" = 0 ] || { echo "setup: PostgreSQL 15 server binaries are missing; run: sudo apt-get install postgresql-15" >&2; exit 1; }; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-common && \
	  sed -i 's/^#\?create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15; }

$(PY_STAMP): pyproject.toml hatch_build.py ledger_client/_commitment.c
	@command -v $(PYTHON) >/dev/null || { echo "setup: $(PYTHON) not found; install Python 3.11" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: setup test-contracts test-python

# Bounded fuzz/invariant runs (foundry.toml [profile.ci]); `make soak` runs the deep profile.
test-contracts: setup
	cd contracts && FOUNDRY_PROFILE=ci forge test

test-python: setup
	$(PY) -m pytest -m "not slow"

soak: setup
	cd contracts && FOUNDRY_PROFILE=deep forge test
	$(PY) -m pytest -m slow

artifacts: setup
	$(PY) -m ledger_client.compiler --write

demo: setup
	$(VENV)/bin/cie demo

bench: setup
	$(PY) -m bench

# Adds the 100k-document scaling run and longer workloads (tens of minutes).
# One section alone: $(PY) -m bench --only SECTION (see python -m bench --help).
bench-full: setup
	$(PY) -m bench --full

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

clean:
	rm -rf contracts/out contracts/cache .pytest_cache .mypy_cache .ruff_cache
