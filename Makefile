# Two commands on a fresh machine: `make demo` (the main job on the simulator) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test dev bench lint typecheck simulate check dist clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/lightsms-pipeline demo

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check lightsms_pipeline tests benchmarks
	$(BIN)/ruff format --check lightsms_pipeline tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy lightsms_pipeline benchmarks

dev: $(STAMP)
	$(BIN)/lightsms-pipeline dev

simulate: $(STAMP)
	$(BIN)/lightsms-pipeline simulate --days 30 --per-day 500 --port 8765

check: $(STAMP)
	$(BIN)/lightsms-pipeline check

# BENCH_ARGS: e.g. "--only backfill --against REV" (benchmarks/run.py --help).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# The wheel and the sdist a user installs (the wheel is built from the sdist, as pip would).
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache dist build
