# Two commands on a fresh machine: `make demo` and `make test`.
# Each installs what is missing into .venv/ first (nothing is fetched at run time).

PYTHON ?= python3
export DEBIAN_FRONTEND := noninteractive
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
WEB_STAMP := threejs_client/node_modules/.stamp-npm-ci
DEMO_TEXT ?= Hello there, traveler! The bridge to the northern village washed away in the storm, so mind your step.

.PHONY: demo test test-tools unity-tools voice-tools bench-unity install bench bench-export bench-web bench-live avatar clean web-tools audio2face

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

DEMO_PORT ?= 8765
DEMO_DAEMON ?= tcp://127.0.0.1:5555

# speaks a sample line into out/, then serves the live web demo (daemon + bridge) until Ctrl-C
demo: $(STAMP) $(WEB_STAMP)
	$(VENV)/bin/avatarlab speak "$(DEMO_TEXT)" --out out/ --format csv
	$(VENV)/bin/avatarlab serve --bind $(DEMO_DAEMON) & daemon=$$!; \
	trap 'kill $$daemon 2>/dev/null' EXIT INT TERM; \
	echo "web demo: http://127.0.0.1:$(DEMO_PORT)/demo/  (Ctrl-C stops it)"; \
	$(VENV)/bin/avatarlab bridge --daemon $(DEMO_DAEMON) --port $(DEMO_PORT)

JS_STAMP := tests/js/node_modules/.stamp-npm-ci
$(WEB_STAMP): threejs_client/package-lock.json
	npm ci --prefix threejs_client --no-audit --no-fund
	touch $(WEB_STAMP)

# the browser tests drive Debian's chromium (never a downloaded browser)
web-tools:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)

$(JS_STAMP): tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund
	touch $(JS_STAMP)

# Blender checks the exported GLBs; Debian's blender needs python3-numpy for its glTF importer
test-tools:
	(command -v blender && dpkg -s python3-numpy) >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends blender python3-numpy)

# Mono compiles and runs the Unity package's C# tests (unity_plugin/, tests/test_unity_plugin.py)
unity-tools:
	(command -v mcs && command -v mono) >/dev/null 2>&1 || (apt-get update && apt-get install -y --no-install-recommends mono-mcs mono-runtime)

# libespeak-ng's formant voices: speech with exact phone timings from a synthesizer the audio-to-face
# network never heard (the held-out voices of tests/test_heldout_voice.py; models/audio2face trains on others)
voice-tools:
	test -e /usr/lib/x86_64-linux-gnu/libespeak-ng.so.1 || ldconfig -p | grep -q libespeak-ng.so.1 || (apt-get update && apt-get install -y --no-install-recommends libespeak-ng1)

test: $(STAMP) $(JS_STAMP) $(WEB_STAMP) test-tools web-tools unity-tools voice-tools
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_engine.py

bench-export: $(STAMP)
	$(PY) benchmarks/bench_export.py

bench-unity: $(STAMP) unity-tools
	$(PY) benchmarks/bench_unity_client.py

bench-web: $(STAMP) $(WEB_STAMP) web-tools
	$(PY) benchmarks/bench_web.py

bench-live: $(STAMP) voice-tools
	$(PY) benchmarks/bench_live.py

# regenerate the training data and retrain the live audio-to-face network (15 to 45 min on 2 cores)
A2F_DATA ?= /tmp/avatarlab-a2f-data
audio2face: $(STAMP) voice-tools
	$(PY) models/audio2face/make_dataset.py --out $(A2F_DATA) --minutes 60
	$(PY) models/audio2face/train.py --data $(A2F_DATA) --out sdk/avatarlab/data --epochs 20

# regenerate the committed default avatar (tests check it matches the generator)
avatar: $(STAMP)
	$(VENV)/bin/avatarlab avatar --out models/avatar/default_head.glb

clean:
	rm -rf out/ .pytest_cache .hypothesis
