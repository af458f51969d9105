# tl-kit: two commands on a fresh machine.
#   make lab    create .venv, install the kit, register the "tl-kit" kernel, open JupyterLab on notebooks/
#   make test   the same environment; unit tests + every lesson under nbval in the fast profile, once per
#               backend (teacher's copy on TensorFlow, student's copy on JAX) + every lesson in JupyterLab in
#               Chromium (on JAX), in two lanes side by side (see `test:` below)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.tl-kit-installed
PYTEST := $(BIN)/python -m pytest
NBVAL  := --nbval-lax --nbval-current-env --nbval-cell-timeout=900
# JupyterLab refuses to run as root unless told; classroom containers often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

STUDENT := build/student
LOCK    := requirements/lock.txt
UV      := build/uv/bin/uv
# JupyterHub's proxy, from the npm registry, for the classroom test (tests/test_hub.py).
HUB_PROXY := build/node/node_modules/.bin/configurable-http-proxy

.PHONY: install lock hub-proxy hub-sizing lab test test-unit student-copies test-notebooks test-notebooks-jax test-notebooks-zh zh test-browser gpu-check bench clean

install: $(STAMP)

# Installs the versions in the lock (requirements/lock.txt, as a pip constraints file): the ones tested.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e ".[test]"
	$(BIN)/python -m ipykernel install --user --name tl-kit --display-name "Python (tl-kit)"
	touch $@

# The lock, resolved by uv for Linux and Python 3.10–3.12 (pyproject.toml's [tool.uv]). Versions already
# in it stay unless pyproject.toml rules them out: run `make lock` after changing pyproject.toml, and
# `make lock UPGRADE=1` to move every package to its newest version on purpose (then `make test`).
$(UV):
	$(PYTHON) -m venv build/uv
	build/uv/bin/python -m pip install --quiet "uv>=0.9,<1"

lock: $(UV)
	$(UV) pip compile pyproject.toml --extra test --universal --python-version 3.10 --no-python-downloads --quiet $(if $(UPGRADE),--upgrade) \
		-o $(LOCK)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

# Two lanes side by side, each part on one thread: the unit tests (but those below) then nbval on
# TensorFlow; and the unit tests that run on JAX (marked `jax`, in a pytest on JAX, so that their
# scripts run in it: tests/conftest.py's run_on_backend), nbval on JAX, the browser test, then the
# JupyterHub and grading tests. Why two lanes of one thread each, and what each part takes:
# docs/benchmarks.md, "How `make test` got to its time". Every part shares one JAX compilation
# cache in build/ (tl_kit/compile_cache.py), so a second `make test` compiles little; it keeps
# every program, as the kit's own does.
# Each part's output is printed whole when that part ends (GNU make 4; macOS's make 3.81
# interleaves the lanes).
SYNC := $(if $(filter output-sync,$(.FEATURES)),--output-sync=target)
ONE_THREAD := OMP_NUM_THREADS=1 TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 \
              XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
JAX_CACHE := JAX_COMPILATION_CACHE_DIR=$(CURDIR)/build/jax-cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0
# The tests that run code as other accounts: one pytest, because each opens the folders above the interpreter
# to other accounts for its session and closes them after (tests/conftest.py), which would cut off the others.
CLASSROOM_TESTS := tests/test_hub.py tests/test_grading.py tests/test_accounts.py
UNIT_TESTS := TL_KIT_PROFILE=fast $(PYTEST) tests tl_kit --doctest-modules --ignore=tests/test_browser.py
LANE_UNIT_TESTS := $(UNIT_TESTS) $(addprefix --ignore=,$(CLASSROOM_TESTS))
test: $(STAMP) hub-proxy
	$(ONE_THREAD) $(JAX_CACHE) $(MAKE) --no-print-directory $(SYNC) -j2 lane-notebooks lane-classroom

.PHONY: lane-unit lane-notebooks lane-jax lane-browser lane-classroom
lane-unit:
	$(LANE_UNIT_TESTS) -m "not jax"
lane-notebooks: | lane-unit
	$(MAKE) --no-print-directory test-notebooks
lane-jax:
	KERAS_BACKEND=jax $(LANE_UNIT_TESTS) -m jax
	$(MAKE) --no-print-directory test-notebooks-jax
	$(MAKE) --no-print-directory test-notebooks-zh
lane-browser: | lane-jax
	$(MAKE) --no-print-directory test-browser
lane-classroom: | lane-browser
	TL_KIT_PROFILE=fast $(PYTEST) -rs $(CLASSROOM_TESTS)

# All unit tests, the hub's and the grading's included.
test-unit: $(STAMP) hub-proxy
	$(UNIT_TESTS)

# Without npm the hub test skips, saying so.
hub-proxy: $(HUB_PROXY)

$(HUB_PROXY):
	if command -v npm >/dev/null; then npm install --prefix build/node --no-audit --no-fund --loglevel=error \
		configurable-http-proxy@5.3.0; else echo "npm not found: the JupyterHub test will be skipped"; fi

# The copies a teacher hands out (every answer removed) must also run top to bottom.
student-copies: $(STAMP)
	rm -rf $(STUDENT)
	$(BIN)/python -m tl_kit exercises notebooks/[0-9]*.ipynb --out-dir $(STUDENT)

# Each lesson runs once per backend: as the teacher's copy (worked answers) on TensorFlow, and on
# JAX as the student's copy where it has one (the same cells, answers left blank), else as itself.
LESSON_FILES  := $(sort $(wildcard notebooks/[0-9]*.ipynb))
JAX_NOTEBOOKS := for nb in $(LESSON_FILES); do copy=$(STUDENT)/$$(basename $$nb .ipynb)_exercises.ipynb; \
                 if [ -e $$copy ]; then echo $$copy; else echo $$nb; fi; done

test-notebooks: $(STAMP)
	TL_KIT_PROFILE=fast KERAS_BACKEND=tensorflow $(PYTEST) $(NBVAL) $(LESSON_FILES)

# The Chinese lessons (notebooks/zh/, built by `make zh` from the English ones and their catalogs): the
# same code, so one backend is enough: JAX, after nbval on JAX, whose compiled programs it reuses (the
# TensorFlow lane is the longer one).
ZH_FILES := $(sort $(wildcard notebooks/zh/[0-9]*.ipynb))
test-notebooks-zh: $(STAMP)
	TL_KIT_PROFILE=fast KERAS_BACKEND=jax $(PYTEST) $(NBVAL) $(ZH_FILES)

# After editing an English lesson: its catalog follows (changed texts marked fuzzy for the translator),
# and the Chinese lessons are rebuilt (refused, naming the cells, while a text has no current translation).
zh: $(STAMP)
	$(BIN)/python -m tl_kit translate update
	$(BIN)/python -m tl_kit translate build

test-notebooks-jax: student-copies
	TL_KIT_PROFILE=fast KERAS_BACKEND=jax $(PYTEST) $(NBVAL) $$($(JAX_NOTEBOOKS))

# Needs Chromium (Debian: apt-get install chromium); skips, saying so, without one. On JAX by default:
# in `make test` it runs after nbval on JAX and reuses its compiled programs from the shared cache
# (docs/benchmarks.md); TensorFlow runs every lesson under nbval. `make test-browser BROWSER_BACKEND=tensorflow` runs it on TensorFlow.
BROWSER_BACKEND ?= jax
test-browser: $(STAMP)
	TL_KIT_PROFILE=fast KERAS_BACKEND=$(BROWSER_BACKEND) $(PYTEST) -rs tests/test_browser.py

# Speed and accuracy on this machine: writes benchmarks/results.md and .json (not part of test).
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# What one student costs a hub node, per lesson (peak memory, CPU-seconds): docs/classroom.md, "Sizing a hub".
hub-sizing: $(STAMP)
	$(BIN)/python benchmarks/hub_sizing.py $(SIZING_ARGS)

# Every notebook under nbval in the gpu profile, on a GPU (JAX backend where TensorFlow sees none).
gpu-check: $(STAMP)
	PYTHON=$(BIN)/python scripts/gpu_check.sh

clean:
	rm -rf $(VENV) .pytest_cache
