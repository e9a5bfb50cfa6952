# Two commands do all the set-up: `make run` and `make test`. Both are idempotent:
# the virtualenv is rebuilt only when pyproject.toml changes (stamp files).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WAREHOUSE ?= $(or $(RP_IMPACT_WAREHOUSE),var/warehouse.duckdb)
PORT ?= 8501
# Two pytest-xdist workers: 9 min 20 s against 14 min 47 s serially on this 2-core machine.
# `make test PYTEST_ARGS=` runs serially; extra arguments go after, e.g. PYTEST_ARGS="-n 2 -k board".
PYTEST_ARGS ?= -n 2

.PHONY: run test lint format clean bench calibrate build sample

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(VENV)/.installed $@

$(WAREHOUSE): | $(VENV)/.installed
	RP_IMPACT_WAREHOUSE=$(WAREHOUSE) $(BIN)/rp-impact build

build: $(VENV)/.installed
	RP_IMPACT_WAREHOUSE=$(WAREHOUSE) $(BIN)/rp-impact build

# Demo mode: the synthetic sample with a banner, no sign-in (see docs/security.md).
run: $(VENV)/.installed $(WAREHOUSE)
	RP_IMPACT_DEMO=1 RP_IMPACT_WAREHOUSE=$(WAREHOUSE) $(BIN)/rp-impact serve --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

sample: $(VENV)/.installed
	$(BIN)/python -m pipelines.sample data/sample

bench: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.run

# Re-simulates the sample's data process with and without the planted effect and measures
# every Board estimate's coverage, false-positive rate, bias and width (docs/calibration.md).
calibrate: $(VENV)/.installed-dev
	$(BIN)/python -m benchmarks.calibrate --replicates 200

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache build *.egg-info
