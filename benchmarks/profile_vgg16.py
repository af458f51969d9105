"""Where VGG16's forward time goes on this CPU: oneDNN's own per-primitive timings.

    python benchmarks/profile_vgg16.py [--size 224] [--batch 16]

TensorFlow on x86 runs convolutions through oneDNN, which logs every primitive it executes,
with its implementation and wall time, when ONEDNN_VERBOSE=1. This script runs VGG16's conv
base in a child process with that log on, then adds the times up per layer and per kind of
primitive, and sets each conv layer's time against its FLOPs and the machine's matmul peak
(benchmarks/results.json). It answers "which layers are slow, and is it the conv kernels or
the reorders and pooling around them". TensorFlow backend only (JAX does not use oneDNN).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import os, sys, time
import numpy as np, keras
size, batch = int(sys.argv[1]), int(sys.argv[2])
model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(size, size, 3))
x = np.random.default_rng(0).normal(0, 50, (batch, size, size, 3)).astype("float32")
model.predict(x, batch_size=batch, verbose=0)  # warm-up: tracing and oneDNN primitive creation
print("TLKIT_MARK_START", flush=True)
start = time.perf_counter()
model.predict(x, batch_size=batch, verbose=0)
print(f"TLKIT_MARK_END {time.perf_counter() - start:.6f}", flush=True)
"""


def vgg16_conv_flops(size: int) -> list[tuple[str, int, float]]:
    """(layer, output side, GFLOP per image) for VGG16's 13 conv layers at size² input."""
    from tl_kit.freezing import layer_flops

    import keras

    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(size, size, 3))
    flops = layer_flops(model)
    return [(layer.name, layer.output.shape[1], flops[layer.name] / 1e9)
            for layer in model.layers if layer.name in flops and "conv" in layer.name]


def run_child(size: int, batch: int) -> tuple[list[str], float]:
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(size), str(batch)], env=env, capture_output=True,
                          text=True, check=True)
    lines = done.stdout.splitlines()
    start = lines.index("TLKIT_MARK_START")
    end = next(i for i, line in enumerate(lines) if line.startswith("TLKIT_MARK_END"))
    return lines[start + 1:end], float(lines[end].split()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()

    log, wall = run_child(args.size, args.batch)
    by_kind: dict[str, float] = defaultdict(float)
    convs: list[tuple[str, str, float]] = []  # (implementation, shape description, ms) in execution order
    for line in log:
        fields = line.split(",")
        if len(fields) < 6 or fields[0] != "onednn_verbose" or "exec" not in fields:
            continue
        kind = fields[fields.index("exec") + 2]
        ms = float(fields[-1])
        by_kind[kind] += ms
        if kind == "convolution":
            convs.append((fields[fields.index("exec") + 3], fields[-2], ms))

    results = ROOT / "benchmarks" / "results.json"
    peak = json.loads(results.read_text())["matmul_gflops"] if results.exists() else None
    layers = vgg16_conv_flops(args.size)
    print(f"VGG16 conv base, {args.size} px, batch {args.batch}: predict wall {wall * 1000:.0f} ms "
          f"({args.batch / wall:.1f} images/s); oneDNN primitives {sum(by_kind.values()):.0f} ms\n")
    print("| primitive | ms | share |\n|---|---|---|")
    total = sum(by_kind.values())
    for kind, ms in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {ms:.0f} | {ms / total:.0%} |")
    print(f"| (outside oneDNN: TensorFlow ops, pooling if not oneDNN, Python) | {wall * 1000 - total:.0f} | |\n")
    if len(convs) != len(layers):
        print(f"{len(convs)} oneDNN convolutions for {len(layers)} conv layers: per-layer table skipped")
        return 0
    print("| layer | output | implementation | ms | GFLOP/s | of peak |\n|---|---|---|---|---|---|")
    for (name, side, gflop), (impl, _, ms) in zip(layers, convs):
        rate = gflop * args.batch / (ms / 1000)
        share = f"{rate / peak:.0%}" if peak else "?"
        print(f"| {name} | {side}² | {impl} | {ms:.1f} | {rate:.0f} | {share} |")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
