# Two commands on a fresh machine: `make demo` and `make test`.
# Each installs what is missing into .venv/ first (nothing is fetched at run time).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
DEMO_TEXT ?= Hello there, traveler! The bridge to the northern village washed away in the storm, so mind your step.

.PHONY: demo test test-tools install bench bench-export avatar clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/avatarlab speak "$(DEMO_TEXT)" --out out/ --format csv

JS_STAMP := tests/js/node_modules/.stamp-npm-ci

$(JS_STAMP): tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund
	touch $(JS_STAMP)

# Blender checks the exported GLBs; Debian's blender needs python3-numpy for its glTF importer
test-tools:
	(command -v blender && dpkg -s python3-numpy) >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends blender python3-numpy)

test: $(STAMP) $(JS_STAMP) test-tools
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py

bench-export: $(STAMP)
	$(PY) benchmarks/bench_export.py

# regenerate the committed default avatar (tests check it matches the generator)
avatar: $(STAMP)
	$(VENV)/bin/avatarlab avatar --out models/avatar/default_head.glb

clean:
	rm -rf out/ .pytest_cache .hypothesis
