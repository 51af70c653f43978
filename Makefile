# lrlab developer commands. `make demo` and `make test` do all the setup themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --constraint constraints.txt

.PHONY: setup test test-fast lint format demo schedules-demo serve bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) --upgrade pip
	$(PIP_INSTALL) -e '.[dev]'
	$(PIP_INSTALL) --no-deps timm==1.0.29  # timm.scheduler only: timm's own deps pull torchvision
	touch $@

lint: setup
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix src tests benchmarks examples
	$(BIN)/ruff format src tests benchmarks examples

test: lint
	$(BIN)/pytest

# The inner loop: everything but the tests marked slow, with fewer hypothesis examples
# (CI runs them all, with the default examples, through `make test`).
test-fast: setup
	HYPOTHESIS_PROFILE=fast $(BIN)/pytest -m "not slow" -q

# The main job: train the default experiment (10 schedules x 5 seeds, CNN on digits) into
# runs/demo, rank it and write runs/demo/report.html. A second run reuses the store.
demo: setup
	$(BIN)/lrlab compare --out runs/demo --jobs 2

schedules-demo: setup
	$(BIN)/python examples/tutorial_schedules.py

# The designer and the experiments under runs/ (e.g. `make demo`'s) at http://127.0.0.1:8000/
serve: setup
	mkdir -p runs
	$(BIN)/lrlab serve runs

bench: setup
	$(BIN)/python benchmarks/bench_schedules.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_torch.py
	$(BIN)/python benchmarks/bench_find_lr.py
	$(BIN)/python benchmarks/bench_lab.py
	$(BIN)/python benchmarks/bench_serve.py

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist
