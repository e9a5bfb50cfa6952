# Two commands do all the set-up: `make run` and `make test`. Both are idempotent:
# the virtualenv is rebuilt only when pyproject.toml changes (stamp files).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WAREHOUSE ?= $(or $(RP_IMPACT_WAREHOUSE),var/warehouse.duckdb)
PORT ?= 8501
# Two pytest-xdist workers: 9 min 20 s against 14 min 47 s serially on this 2-core machine.
# `--dist loadgroup`: the browser tests share one worker (one server, one Chromium), a module
# whose tests share a module-scoped fixture stays on one worker (tests/conftest.py), and the
# groups are handed out first. See docs/performance.md, "The test suite".
# `--durations=25`: every run ends with its 25 slowest steps (issue 19 reads them from CI).
# `make test PYTEST_ARGS=` runs serially; extra arguments go after, e.g. PYTEST_ARGS="-n 2 -k board".
PYTEST_ARGS ?= -n 2 --dist loadgroup --durations=25

.PHONY: run test lint format clean bench calibrate build sample

# uv (from PyPI, into the virtualenv) installs in seconds where pip takes about a minute. Where
# uv cannot be had, or fails, pip does the same install: the stamps are the same either way.
install = if [ -x $(BIN)/uv ] && $(BIN)/uv pip install --quiet --python $(BIN)/python $(1); \
	then :; else $(BIN)/python -m pip install --quiet $(1); fi

$(BIN)/python:
	@echo "rp-impact: creating the virtualenv in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet uv >/dev/null 2>&1 \
		&& echo "rp-impact: installing with uv" \
		|| echo "rp-impact: uv is not available, installing with pip"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "rp-impact: installing rp-impact and its dependencies"
	@$(call install,-e .)
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "rp-impact: installing rp-impact with the test and lint tools"
	@$(call install,-e ".[dev]")
	touch $(VENV)/.installed $@

$(WAREHOUSE): | $(VENV)/.installed
	@echo "rp-impact: building the sample warehouse $(WAREHOUSE) (first run only)"
	RP_IMPACT_WAREHOUSE=$(WAREHOUSE) $(BIN)/rp-impact build

build: $(VENV)/.installed
	RP_IMPACT_WAREHOUSE=$(WAREHOUSE) $(BIN)/rp-impact build

# Demo mode: the synthetic sample with a banner, no sign-in (see docs/security.md).
run: $(VENV)/.installed $(WAREHOUSE)
	@echo "rp-impact: serving the dashboard on http://localhost:$(PORT)"
	RP_IMPACT_DEMO=1 RP_IMPACT_WAREHOUSE=$(WAREHOUSE) $(BIN)/rp-impact serve --port $(PORT)

# PYTHONDONTWRITEBYTECODE= : where the environment sets it (this machine does), every process
# the suite starts (xdist workers, streamlit servers, CLI subprocesses) compiled pandas, scipy,
# statsmodels and streamlit from source again: `import pipelines.analysis, streamlit` 10.5 s
# each time, 3.3 s once the bytecode is cached (__pycache__/ is git-ignored).
# OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1: two workers on two cores already use both; BLAS
# threads on top spin against each other (a 405 x 488 null space 0.27 s with two threads under
# load, 0.06 s with one; the joint grains attack 35 s to 19 s).
test: $(VENV)/.installed-dev
	PYTHONDONTWRITEBYTECODE= OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
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
