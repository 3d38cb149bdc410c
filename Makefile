# The two commands: `make run` serves Rekam, `make test` checks it. Both need only Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-pgbouncer lint typecheck pytest demo bench bench-smoke soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Rekam needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/rekam serve --demo-if-empty

demo: $(STAMP)
	$(BIN)/rekam demo

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

# The count and progress suites again, their engine going through a PgBouncer in transaction
# pooling mode (tests/pgbouncer.py; needs Debian's pgbouncer: scripts/install-pgbouncer.sh).
test-pgbouncer: $(STAMP)
	REKAM_TEST_PGBOUNCER=1 $(BIN)/pytest tests/test_counts.py tests/test_progress.py tests/test_pgbouncer.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# The benchmark (bench/README.md): `make bench` writes bench/RESULTS.md and bench/results.json;
# `make bench-smoke` is its tiny CI version (fails on any error, asserts nothing about speed).
bench: $(STAMP)
	$(BIN)/python -c 'import numpy' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-smoke: $(STAMP)
	$(BIN)/python -c 'import numpy' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.run --smoke $(BENCH_ARGS)

# A bounded soak (10 minutes at 32 connections, mixed reads and writes); not run by CI.
soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)
