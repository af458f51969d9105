#!/usr/bin/env bash
# Run every lesson notebook under nbval on a GPU, in the gpu profile (224 px, all shipped images),
# print how long each took, and record the times of the lessons that passed in
# tl_kit/lesson_times.json. `make gpu-check` calls it with the kit's environment.
#
# The Keras backend is TensorFlow when TensorFlow sees a GPU, else JAX (TensorFlow has no GPU
# build on some machines; Keras 3 runs the same notebooks on JAX). KERAS_BACKEND and
# TL_KIT_PROFILE override both choices. It refuses to run when the chosen backend sees no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ -z "${KERAS_BACKEND:-}" ]; then
  if $PY -c "import tensorflow as tf, sys; sys.exit(0 if tf.config.list_physical_devices('GPU') else 1)" >/dev/null 2>&1; then
    export KERAS_BACKEND=tensorflow
  else
    export KERAS_BACKEND=jax
  fi
fi
export TL_KIT_PROFILE=${TL_KIT_PROFILE:-gpu} TL_KIT_LIVE_PLOTS=0
if ! $PY -c "from tl_kit.profiles import gpu_available; import sys; sys.exit(0 if gpu_available() else 1)" 2>/dev/null; then
  echo "gpu-check: the $KERAS_BACKEND backend sees no GPU here; nothing to check (run make test for CPU)." >&2
  exit 1
fi
$PY -c "import keras, platform; print(f'gpu-check: Python {platform.python_version()}, Keras {keras.__version__}, backend $KERAS_BACKEND, profile $TL_KIT_PROFILE')"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
status=0
for nb in ${NOTEBOOKS:-notebooks/[0-9]*.ipynb}; do
  start=$(date +%s)
  if $PY -m pytest -q -p no:cacheprovider --nbval-lax --nbval-current-env --nbval-cell-timeout=3600 "$nb"; then
    result=passed
  else
    result=FAILED; status=1
  fi
  seconds=$(( $(date +%s) - start ))
  echo "gpu-check: $nb $result in $seconds s"
  if [ "$result" = passed ] && [ "$TL_KIT_PROFILE" = gpu ]; then  # the reference time tl_kit.info scales
    $PY -c "import sys; from tl_kit.lessons import record_times; record_times('gpu', {sys.argv[1]: float(sys.argv[2])})" \
      "$(basename "$nb")" "$seconds"
  fi
done
exit $status
