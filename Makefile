# The front door: `make run` serves the app with the demo loaded, `make test` runs every test.
# Each target bootstraps .venv itself from the pinned requirements.lock.

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup run test test-e2e lint format bench fuzz-long clean

$(STAMP): pyproject.toml requirements.lock
	@python=$$(bin/find-python) || exit 1; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
		rm -rf $(VENV) && $$python -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	@touch $(STAMP)

setup: $(STAMP)
	$(PY) manage.py migrate --noinput

run: setup
	$(PY) manage.py load_demo
	@echo ""
	@echo "  Journeymap is at http://$(HOST):$(PORT)/  (log in as demo / demo)"
	@echo ""
	@trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py db_worker & worker=$$!; \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: setup
	$(PY) -m pytest

# The security fuzzers (tests/security) run in `make test` with few examples; this runs them with
# FUZZ_LONG (default 10) times as many, printing the number of bad inputs tried of each kind.
fuzz-long: setup
	JM_FUZZ_LONG=$(or $(FUZZ_LONG),10) $(PY) -m pytest tests/security -p no:cacheprovider

# `make bench SIZES=100000,1000000` for fewer sizes; DATABASE_URL=postgres://... to run on PostgreSQL
# (in the dedicated database journeymap_bench). Prints the table, writes bench/results/latest.json.
bench: setup
	$(PY) -m bench.run $(if $(SIZES),--sizes $(SIZES))

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
