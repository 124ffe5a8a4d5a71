# Affectline: `make run` starts the service on its embedded defaults, `make analyze` analyses a
# recording, `make test` runs the checks.
# Both set everything up on a fresh Debian/Ubuntu machine (system packages when run as root or
# with sudo, then a virtual environment in .venv).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= affectline-out
SHARED_CLIP := ../shared/data/media/grid_s2_swwp2s.mpg
TORCH_VERSION ?= 2.13.0
# ffmpeg from Debian (imageio-ffmpeg's static ffmpeg is the fallback when this step cannot run);
# libGL and GLib for the OpenCV that MediaPipe loads.
SYSTEM_PACKAGES := ffmpeg libgl1 libglib2.0-0
# For the tests only: espeak-ng makes speech; Chromium renders the report and the web page
# (Playwright drives it; no browser download); the service tests start PostgreSQL and Redis.
TEST_PACKAGES := espeak-ng chromium postgresql redis-server

.PHONY: setup test-setup system-deps run analyze test lint typecheck bench clean

setup: system-deps $(VENV)/.installed

test-setup: PACKAGES = $(SYSTEM_PACKAGES) $(TEST_PACKAGES)
test-setup: system-deps $(VENV)/.installed

PACKAGES ?= $(SYSTEM_PACKAGES)
system-deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ] && command -v apt-get >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else SUDO=none; fi; \
	  if [ "$$SUDO" = none ]; then echo "note: could not install$$missing (not root, no sudo)"; \
	  else $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi; \
	fi

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch, pinned: an unpinned torch pulls several GB of CUDA packages.
	$(BIN)/python -m pip install -q torch==$(TORCH_VERSION)
	$(BIN)/python -m pip install -q -e ".[dev,train]"
	touch $@

# The API and web page on http://127.0.0.1:8000 (SQLite and uploads under ~/.local/share/affectline,
# one worker process per core). The first run creates an API key and prints it.
run: setup
	@$(BIN)/affectline keys list --json | $(BIN)/python -c "import json, sys; sys.exit(0 if json.load(sys.stdin) else 1)" \
	  || $(BIN)/affectline keys create --name local
	$(BIN)/affectline serve

# INPUT defaults to the GRID clip beside the project, else a portrait that matplotlib ships.
analyze: setup
	@input="$(INPUT)"; \
	if [ -z "$$input" ] && [ -f $(SHARED_CLIP) ]; then input=$(SHARED_CLIP); fi; \
	if [ -z "$$input" ]; then input=$$($(BIN)/python -c "from matplotlib import cbook; print(cbook.get_sample_data('grace_hopper.jpg', asfileobj=False))"); fi; \
	$(BIN)/affectline analyze "$$input" --output-dir $(OUT)

lint: test-setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: test-setup
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/face_speed.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .mypy_cache .ruff_cache
