# checkpoint — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= $(CURDIR)/.demo

.PHONY: run test check lint snapshots setup sysdeps sysdeps-test demo bench clean

## make run: set everything up and start the station (the demo when nothing is configured)
run: setup
	@$(BIN)/checkpoint station --demo-if-unconfigured $(DEMO)

## make test: set everything up and run the whole test suite (beside a throwaway PostgreSQL: scripts/postgres.sh)
test: setup sysdeps-test
	scripts/postgres.sh $(BIN)/python -m pytest -q -n 2 --dist loadfile

## make check: ruff (format and lint), mypy (strict on checkpoint/, scanner/, tui/), the import contracts, the tests
check: lint test

lint: setup
	$(BIN)/ruff format --check checkpoint scanner tui tests
	$(BIN)/ruff check checkpoint scanner tui tests
	$(BIN)/mypy
	$(BIN)/lint-imports

## make snapshots: update the TUI snapshots after a deliberate screen change (then look at the diff)
snapshots: setup
	$(BIN)/python -m pytest -q tests/test_station_snapshots.py tests/test_audit_snapshots.py \
		tests/test_office_tui.py -k snapshot --snapshot-update

setup: sysdeps $(STAMP)

sysdeps:
	@scripts/sysdeps.sh

sysdeps-test:
	@scripts/sysdeps.sh --test

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "checkpoint needs Python 3.11 or newer; install it and run make again.")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test,dev]'
	@touch $(STAMP)

demo: setup
	$(BIN)/checkpoint demo $(DEMO)

bench: setup
	$(BIN)/checkpoint bench all

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache
