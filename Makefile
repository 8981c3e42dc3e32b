# Two commands do everything on a fresh machine:
#   make run   - set up (Debian Fashion-MNIST, venv, dcbench) and run the main job:
#                condense Fashion-MNIST with DC (1 image/class, quick preset) and evaluate it
#   make test  - set up and run the test suite (what CI runs)
VENV    ?= .venv
PY      := $(VENV)/bin/python
DCBENCH := $(VENV)/bin/dcbench
FMNIST  := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# `make run` writes into runs/ (git-ignored), never over the committed results/.
RUN_RESULTS ?= runs

.PHONY: setup data venv run test lint bench notebooks report clean

setup: data venv

data: $(FMNIST)
$(FMNIST):
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq dataset-fashion-mnist

venv: $(VENV)/.installed
$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: setup
	DCBENCH_RESULTS=$(RUN_RESULTS) $(DCBENCH) condense --dataset fashion-mnist --method dc \
		--ipc 1 --preset quick --seed 0
	DCBENCH_RESULTS=$(RUN_RESULTS) $(DCBENCH) evaluate \
		$(RUN_RESULTS)/condense/fashion-mnist-dc-ipc1-quick-seed0/set.pt \
		--models convnet --num-models 5

test: setup
	$(VENV)/bin/ruff check dcbench tests benchmarks
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check dcbench tests benchmarks

bench: setup
	$(PY) benchmarks/dc_speed.py --out benchmarks/results/dc_speed.json

# Execute notebooks/ in place against results/ (outputs are committed).
notebooks: venv
	$(PY) -m dcbench.report.notebooks --results results notebooks/*.ipynb

# Rebuild results/tables, results/figures and REPRODUCIBILITY.md from results/.
report: venv
	$(DCBENCH) report --results results

clean:
	rm -rf $(VENV) runs .pytest_cache
