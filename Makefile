# Two commands on a fresh machine with only Python >= 3.11 and make:
#   make demo   # creates .venv, installs the pinned stack, runs the main job on the tiny default
#   make test   # creates .venv if needed, runs the test suite (what CI runs: .ci/run)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= runs/demo

.PHONY: setup demo test lint clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "worldsim needs Python >= 3.11, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# libtpu lets the tests compile for TPU slices on this CPU (the pod dry run); it is not
# needed to train, so `make demo` does not install it. Same pin as jax[tpu]==0.10.2.
$(VENV)/.libtpu: $(STAMP)
	$(BIN)/python -m pip install --quiet "libtpu==0.0.42.1"
	touch $(VENV)/.libtpu

# The main job: simulate a physics dataset (1000 clips: all six families, in-range and
# out-of-range splits), print its statistics, write a preview clip with sound, train the
# CPU recipe's 12-minute variant on it at the clips' own 64x64 (video VAE, audio VAE,
# transformer; resumes if run again), score the trained model on the physics benchmark
# ($(DEMO)/bench/report.html), then generate clips with sound next to the simulator's
# ground truth in $(DEMO)/index.html, with $(DEMO)/demo.json holding the benchmark score and
# tracked share beside the trivial continuations' (`worldsim demo` reads the dataset's
# path from the run's config.json).
demo: $(STAMP)
	$(BIN)/worldsim data build physics_clips --out $(DEMO)/data --num-clips 1000 --seed 0
	$(BIN)/worldsim data stats $(DEMO)/data
	$(BIN)/worldsim data show $(DEMO)/data --split train --index 0 --out $(DEMO)/preview.mp4
	$(BIN)/worldsim train --config experiments/cpu_physics.py:demo --workdir $(DEMO)/train \
		--config.data.dir=$(DEMO)/data
	$(BIN)/worldsim bench run --workdir $(DEMO)/train --out $(DEMO)/bench --num-cases 24
	$(BIN)/worldsim demo --workdir $(DEMO)/train --out $(DEMO) --bench $(DEMO)/bench
	@echo "demo done: open $(DEMO)/index.html (generated clips with sound beside the simulator),"
	@echo "  $(DEMO)/bench/report.html (the model on the physics benchmark),"
	@echo "  $(DEMO)/train/losses.png (every stage's loss curve), $(DEMO)/preview.mp4;"
	@echo "  tensorboard --logdir $(DEMO)/train"

# JAX_PLATFORMS=cpu: the tests run on the CPU (fake devices included) even where libtpu
# or a GPU is installed; TPU compiles for dry runs still work beside it.
test: $(STAMP) $(VENV)/.libtpu
	JAX_PLATFORMS=cpu $(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check worldsim data_pipelines tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
