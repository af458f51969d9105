# tl-kit: two commands on a fresh machine.
#   make lab    create .venv, install the kit, register the "tl-kit" kernel, open JupyterLab on notebooks/
#   make test   the same environment; unit tests + every notebook under nbval in the fast profile
#               (TensorFlow backend, then JAX backend)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tl-kit-installed
PYTEST := $(BIN)/python -m pytest
NBVAL  := --nbval-lax --nbval-current-env --nbval-cell-timeout=900
# JupyterLab refuses to run as root unless told; classroom containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: install lab test test-unit test-notebooks test-notebooks-jax clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m ipykernel install --user --name tl-kit --display-name "Python (tl-kit)"
	touch $@

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

test: test-unit test-notebooks test-notebooks-jax

test-unit: $(STAMP)
	TL_KIT_PROFILE=fast $(PYTEST) tests

test-notebooks: $(STAMP)
	TL_KIT_PROFILE=fast KERAS_BACKEND=tensorflow $(PYTEST) $(NBVAL) notebooks

test-notebooks-jax: $(STAMP)
	TL_KIT_PROFILE=fast KERAS_BACKEND=jax $(PYTEST) $(NBVAL) notebooks

clean:
	rm -rf $(VENV) .pytest_cache
