# Two commands on a fresh machine: `make demo` and `make test`.
# Each installs what is missing into .venv/ first (nothing is fetched at run time).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
DEMO_TEXT ?= Hello there, traveler! The bridge to the northern village washed away in the storm, so mind your step.

.PHONY: demo test install bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/avatarlab speak "$(DEMO_TEXT)" --out out/ --format csv

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py

clean:
	rm -rf out/ .pytest_cache .hypothesis
