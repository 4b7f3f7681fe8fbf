# Two commands on a fresh machine: `make demo` and `make test`.
# Each installs what is missing into .venv/ first (nothing is fetched at run time).

PYTHON ?= python3
export DEBIAN_FRONTEND := noninteractive
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-install
WEB_STAMP := threejs_client/node_modules/.stamp-npm-ci
DEMO_TEXT ?= Hello there, traveler! The bridge to the northern village washed away in the storm, so mind your step.

.PHONY: demo test test-tools unity-tools voice-tools render-tools bench-unity install bench bench-export bench-web bench-live bench-render bench-sync-check bench-photo-avatar bench-wav2lip bench-jobs avatar clean web-tools audio2face

# the runtime alone (what `make demo` needs), then the test extras (torch, pytest...) on top for `make test`
RUNTIME_STAMP := $(VENV)/.stamp-runtime
# the face-mesh .tflite files from the mediapipe wheel (docs/sync-check.md), again whenever models.py changes (a
# model added): it downloads the wheel only when a file is missing, writes only those, and returns at once if none
MODELS_STAMP := $(VENV)/.stamp-facemesh-models
install: $(RUNTIME_STAMP) $(MODELS_STAMP)

$(RUNTIME_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

$(MODELS_STAMP): $(RUNTIME_STAMP) sdk/avatarlab/facemesh/models.py
	$(PY) -m avatarlab.facemesh.models
	touch $(MODELS_STAMP)

$(STAMP): $(RUNTIME_STAMP)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

# Debian packages for the tests (Chromium, Mono, Blender, libespeak-ng: about 1.1 GB) need root.
# Without root they are skipped with a warning and the tests that need them are skipped too,
# except in CI (CI=true), where a missing tool is an error.
define apt_install
	if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends $(1); \
	elif [ -n "$$CI" ]; then echo "error: installing $(1) needs root (apt-get)" >&2; exit 1; \
	else echo "warning: not root, so $(1) cannot be installed: tests that need it are skipped (run make test as root, or: sudo apt-get install $(1))" >&2; fi
endef

DEMO_PORT ?= 8765
DEMO_DAEMON ?= tcp://127.0.0.1:5555

# checks the ports, speaks a sample line into out/, then serves the live web demo (daemon + bridge) until
# Ctrl-C; the page's address is printed once the daemon is ready
demo: $(RUNTIME_STAMP) $(MODELS_STAMP) $(WEB_STAMP) render-tools
	$(VENV)/bin/avatarlab demo --port $(DEMO_PORT) --daemon $(DEMO_DAEMON) --speak "$(DEMO_TEXT)" --out out/

JS_STAMP := tests/js/node_modules/.stamp-npm-ci
$(WEB_STAMP): threejs_client/package-lock.json
	npm ci --prefix threejs_client --no-audit --no-fund
	touch $(WEB_STAMP)

# the browser tests drive Debian's chromium (never a downloaded browser)
web-tools:
	command -v chromium >/dev/null || { $(call apt_install,chromium); }

$(JS_STAMP): tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund
	touch $(JS_STAMP)

# Blender checks the exported GLBs; Debian's blender needs python3-numpy for its glTF importer
test-tools:
	(command -v blender && dpkg -s python3-numpy) >/dev/null 2>&1 || { $(call apt_install,blender python3-numpy); }

# Mono compiles and runs the Unity package's C# tests (unity_plugin/, tests/test_unity_plugin.py, test_unity_avatar.py)
unity-tools:
	(command -v mcs && command -v mono) >/dev/null 2>&1 || { $(call apt_install,mono-mcs mono-runtime); }
	$(PYTHON) unity_plugin/Tools/stage_sample_avatar.py   # the PhotoAvatar sample's GLB (gitignored copy)

# libespeak-ng's formant voices: speech with exact phone timings from a synthesizer the audio-to-face
# network never heard (the held-out voices of tests/test_heldout_voice.py; models/audio2face trains on others).
# Festival's and Flite's voices of real speakers (models/audio2face/festival_voice.py): training speakers, and
# the reserved speakers kal and slt of tests/test_heldout_speakers.py (about 600 MB, most of it Russian and Czech)
FESTIVAL_VOICES := festvox-kdlpc16k festvox-kallpc16k festvox-us-slt-hts festvox-ca-ona-hts festvox-czech-dita \
	festvox-czech-machac festvox-suopuhe-lj festvox-suopuhe-mv festvox-italp16k festvox-itapc16k festvox-ru \
	festvox-hi-nsk festival-hi festvox-mr-nsk festival-mr festvox-te-nsk festival-te
voice-tools:
	test -e /usr/lib/x86_64-linux-gnu/libespeak-ng.so.1 || ldconfig -p | grep -q libespeak-ng.so.1 || { $(call apt_install,libespeak-ng1); }
	(command -v festival && command -v flite && dpkg -s $(FESTIVAL_VOICES)) >/dev/null 2>&1 || { $(call apt_install,festival flite $(FESTIVAL_VOICES)); }

# Mesa's EGL and llvmpipe: `avatarlab render` draws offscreen with no display and no GPU (docs/render.md)
render-tools:
	(ldconfig -p | grep -q libEGL_mesa.so.0 && ldconfig -p | grep -q 'libGL.so.1 ' && test -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so) || { $(call apt_install,libegl1 libegl-mesa0 libgl1-mesa-dri libgl1); }

test: $(STAMP) $(MODELS_STAMP) $(JS_STAMP) $(WEB_STAMP) test-tools web-tools unity-tools voice-tools render-tools
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

# the offscreen video renderer beside three.js in headless chromium, same frames (benchmarks/results/render.md)
bench-render: $(STAMP) $(WEB_STAMP) web-tools render-tools
	$(PY) benchmarks/bench_render.py

# face mesh fps and sync-check x real time on a rendered line (benchmarks/results/sync_check.md)
bench-sync-check: $(STAMP) $(MODELS_STAMP) render-tools
	$(PY) benchmarks/bench_sync_check.py

# photo -> GLB / VRM time by stage, the face mesh alone as the floor, peak memory (benchmarks/results/photo_avatar.md)
bench-photo-avatar: $(STAMP) $(MODELS_STAMP)
	$(PY) benchmarks/bench_photo_avatar.py

# Wav2Lip render fps at 25 fps with a full-size random-weight model, by stage (benchmarks/results/wav2lip.md)
bench-wav2lip: $(STAMP)
	$(PY) benchmarks/bench_wav2lip.py

bench-jobs: $(STAMP) render-tools
	$(PY) benchmarks/bench_jobs.py

# regenerate the training data and retrain the live audio-to-face network (15 to 45 min on 2 cores)
A2F_DATA ?= /tmp/avatarlab-a2f-data
audio2face: $(STAMP) voice-tools
	$(PY) models/audio2face/make_dataset.py --out $(A2F_DATA) --minutes 65 --real-share 0.5 --raise-pitch 0.3 --raise-real 0.4
	$(PY) models/audio2face/train.py --data $(A2F_DATA) --out sdk/avatarlab/data --epochs 20 --threads 1 --mask 0.5 \
		--narrowband 0.15 --class-weight PP=3,FF=1.5,oh=2,ou=2,RR=1.5 --channels 192

# regenerate the committed default avatar from the astronaut portrait (tests/test_avatar.py checks it reproduces)
avatar: $(STAMP) $(MODELS_STAMP)
	$(PY) -m avatarlab.avatar.make_default --out models/avatar/default_head.glb

clean:
	rm -rf out/ .pytest_cache .hypothesis
