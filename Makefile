# Two commands do everything on a fresh machine (see README):
#   make run    set up .venv and run the flagship study (Li vs Li-Sn at the reference conditions -> report.html)
#   make test   set up .venv and run the test suite
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STUDY ?= scenarios/reference_study.toml
SCENARIO ?= scenarios/flat_bilayer.toml
OUT ?= results/$(basename $(notdir $(SCENARIO)))
PYTEST_ARGS ?=
# pytest workers for `make test` (pytest-xdist): one per core; TEST_WORKERS=0 runs in this process
TEST_WORKERS ?= auto

.PHONY: setup run run-one test test-fast compare bench clean

setup:
	@tools/setup-venv.sh

# The flagship: every run of the study (in parallel over the cores), then results/<study>/report.html.
# Running it again reruns only what is missing or changed.
run: setup
	$(VENV)/bin/ecmsim study $(STUDY) -o results/$(basename $(notdir $(STUDY)))

# One scenario: make run-one SCENARIO=scenarios/flat_bilayer.toml
run-one: setup
	$(VENV)/bin/ecmsim run $(SCENARIO) -o $(OUT)

# The whole suite, slow physics and the MPI comparisons included, on every core: tests that share a
# module's solved run stay on one worker, the mpirun tests run one at a time (tests/conftest.py).
test: setup
	@tools/ensure-chromium.sh
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests: that is a failure" >&2; exit 1; fi; \
	exit $$rc

# Everything but the tests marked slow.
test-fast: setup
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# Li vs Li-Sn after three cycles, static windows of the cycled sections at 2.4 MPa, one page.
compare: setup
	$(VENV)/bin/ecmsim run scenarios/li_pll_cycled_image.toml -o results/compare/li_pll --set interface.model=contact
	$(VENV)/bin/ecmsim run scenarios/li_sn_pll_cycled_image.toml -o results/compare/li_sn_pll --set interface.model=contact
	$(VENV)/bin/ecmsim report results/compare/li_pll results/compare/li_sn_pll -o results/compare/report.html

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf results .pytest_cache
