# Two commands do everything on a fresh machine (see README):
#   make run    set up .venv and run the flagship scenario
#   make test   set up .venv and run the test suite
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SCENARIO ?= scenarios/flat_bilayer.toml
OUT ?= results/$(basename $(notdir $(SCENARIO)))
PYTEST_ARGS ?=

.PHONY: setup run test test-fast bench clean

setup:
	@tools/setup-venv.sh

run: setup
	$(VENV)/bin/ecmsim run $(SCENARIO) -o $(OUT)

# The whole suite, slow physics and the MPI comparisons included.
test: setup
	@$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests: that is a failure" >&2; exit 1; fi; \
	exit $$rc

# Everything but the tests marked slow.
test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf results .pytest_cache
