#!/usr/bin/env bash
# Run every lesson notebook under nbval on a GPU, in the gpu profile (224 px, all shipped images),
# print how long each took, and record the times of the lessons that passed in
# tl_kit/lesson_times.json, with the device they ran on. `make gpu-check` calls it with the kit's
# environment.
#
# The Keras backend is TensorFlow when TensorFlow sees a GPU, else JAX (TensorFlow has no GPU
# build on some machines; Keras 3 runs the same notebooks on JAX). KERAS_BACKEND and
# TL_KIT_PROFILE override both choices. It refuses to run when the chosen backend sees no GPU.
#
# JOBS=n runs n notebooks at once, longest first (by their last recorded times): a lesson in the
# gpu profile spends most of its time compiling on the CPU while the GPU idles, so on a machine
# with many cores n lanes finish sooner than one. The processes then share the GPU's memory
# (allocated as needed, not reserved up front). Each notebook's pytest output goes to
# $GPU_CHECK_LOGS/<notebook>.log (default build/gpu-check), per-cell seconds to cells.jsonl there.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
JOBS=${JOBS:-1}
LOGS=${GPU_CHECK_LOGS:-build/gpu-check}
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
if [ "$JOBS" -gt 1 ]; then
  # Share the GPU: each process takes memory as it needs it. Share the cores too: each process's
  # BLAS (scikit-learn's probes, NumPy) would otherwise start a thread per core, JOBS times over.
  export XLA_PYTHON_CLIENT_PREALLOCATE=false TF_FORCE_GPU_ALLOW_GROWTH=true
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(( $(nproc) / JOBS > 0 ? $(nproc) / JOBS : 1 ))}
fi
mkdir -p "$LOGS"
LOGS=$(cd "$LOGS" && pwd)
: > "$LOGS/summary.txt"
export TL_KIT_TEST_TIMES="$LOGS/cells.jsonl"
: > "$TL_KIT_TEST_TIMES"
DEVICE=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
$PY -c "import keras, platform; print(f'gpu-check: Python {platform.python_version()}, Keras {keras.__version__}, backend $KERAS_BACKEND, profile $TL_KIT_PROFILE, $JOBS at once')"
echo "gpu-check: ${DEVICE:-a GPU (nvidia-smi not found)}"

run_one() {  # one notebook under nbval; appends "<notebook> passed|FAILED <seconds>" to the summary
  local nb=$1 start result seconds
  start=$(date +%s)
  if $PY -m pytest -v -p no:cacheprovider -p tests.timing --nbval-lax --nbval-current-env \
       --nbval-cell-timeout=3600 "$nb" > "$LOGS/$(basename "$nb" .ipynb).log" 2>&1; then
    result=passed
  else
    result=FAILED
  fi
  seconds=$(( $(date +%s) - start ))
  echo "$(basename "$nb") $result $seconds" >> "$LOGS/summary.txt"
  echo "gpu-check: $nb $result in $seconds s"
}

# Longest first, each into the lane with the least work so far (by the recorded gpu, else cpu, times).
mapfile -t LANES < <($PY - "$JOBS" ${NOTEBOOKS:-notebooks/[0-9]*.ipynb} <<'PY'
import sys
from pathlib import Path
from tl_kit.lessons import read_times
jobs, notebooks = int(sys.argv[1]), sys.argv[2:]
seconds = read_times()["seconds"]
def guess(nb):
    t = seconds.get(Path(nb).name, {})
    return t.get("gpu") or t.get("cpu") or 0
lanes = [[0.0, []] for _ in range(max(1, jobs))]
for nb in sorted(notebooks, key=guess, reverse=True):
    lane = min(lanes, key=lambda l: l[0])
    lane[0] += guess(nb) or 1
    lane[1].append(nb)
for total, nbs in lanes:
    if nbs:
        print(" ".join(sorted(nbs)))
PY
)
start=$(date +%s)
for lane in "${LANES[@]}"; do
  ( for nb in $lane; do run_one "$nb"; done ) &
done
wait
total=$(( $(date +%s) - start ))
echo "gpu-check: all notebooks in $total s ($JOBS at once)"
if [ "$TL_KIT_PROFILE" = gpu ]; then
  # The reference times tl_kit.info scales to a student's GPU, with VGG16's forward speed here
  # (224 px, the gpu profile's batch), measured after the lessons so that nothing else runs.
  $PY - "$LOGS/summary.txt" "$JOBS" "${DEVICE:-a GPU}" "$KERAS_BACKEND" <<'PY'
import sys
sys.path.insert(0, "benchmarks")
from run import vgg16_throughput
from tl_kit.lessons import record_times, write_header_times
from tl_kit.profiles import get_profile
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
passed = {nb: float(s) for nb, result, s in rows if result == "passed"}
if passed:
    profile = get_profile("gpu")
    images_per_s = vgg16_throughput(profile.image_size, 4096, batch=profile.batch_size)[0]
    print(f"gpu-check: VGG16 forward at {profile.image_size} px: {images_per_s:,.0f} images/s")
    record_times("gpu", passed, images_per_s=images_per_s,
                 device=f"{sys.argv[3]}, Keras on {sys.argv[4]}, {sys.argv[2]} notebooks at once")
    print("gpu-check: lesson headers rewritten:", write_header_times() or "none changed")
PY
fi
! grep -q FAILED "$LOGS/summary.txt"
