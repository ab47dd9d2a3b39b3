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

# The main job. Today: simulate a small physics dataset (all six families, in-range and
# out-of-range splits), print its statistics, and write a preview clip with sound.
demo: $(STAMP)
	$(BIN)/worldsim data build physics_clips --out $(DEMO)/data --num-clips 120 --seed 0
	$(BIN)/worldsim data stats $(DEMO)/data
	$(BIN)/worldsim data show $(DEMO)/data --split train --index 0 --out $(DEMO)/preview.mp4
	@echo "demo done: open $(DEMO)/preview.mp4 (video + sound), $(DEMO)/preview.png, $(DEMO)/preview.json"

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check worldsim data_pipelines tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
