"""Lower precision on the CPU: Keras' mixed_bfloat16 policy against float32, measured.

Three numbers per policy, each policy in its own Python process (Keras' dtype policy is global
and is read when a layer is built):

- VGG16's forward pass at 96 px (images/s, `model.predict`, batch 32);
- one training step of lesson 03's block-5 fine-tune at 96 px (VGG16 + GAP head, blocks 1–4
  frozen, Adam; images/s);
- the accuracy of lesson 03's block-5 fine-tune (emoji, cpu profile) at equal epochs: per seed, a
  GAP head trained on frozen features, then block 5 + head at 1e-5 for a fixed number of epochs
  (no early stopping, so both policies get the same budget), balanced test accuracy. The same
  seeds in both policies make the differences paired.

    python benchmarks/bf16.py                 # both policies, prints JSON
    python benchmarks/bf16.py --seeds 2 --epochs 2   # a smoke run

`benchmarks/run.py --only-bf16` stores the result in results.json (`bf16_*`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ("float32", "mixed_bfloat16")


def speed(size: int = 96, batch: int = 32, repeats: int = 5) -> dict:
    """Forward and training-step throughput of VGG16 at `size` px under the current policy."""
    import keras

    from run import median_time, vgg16_throughput  # the timings of make bench (imported here: run.py sets env)

    from tl_kit import FINE_TUNE_LAST_BLOCK, TransferModel, build_head

    forward, _ = vgg16_throughput(size, 8 * batch, batch, repeats)
    base = keras.applications.VGG16(weights=None, include_top=False, input_shape=(size, size, 3))
    x = np.random.default_rng(0).normal(0, 50, (batch, size, size, 3)).astype("float32")
    model = TransferModel(base, build_head(base.output_shape[1:], 10, name="head"))
    model.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-5)
    y = np.arange(batch) % 10
    step = batch / median_time(lambda: model.model.train_on_batch(x, y), 3 * repeats)
    return {"forward_images_per_s": forward, "train_step_images_per_s": step}


def accuracy(seeds: int, epochs: int) -> list[float]:
    """Balanced test accuracy of lesson 03's block-5 fine-tune (emoji, cpu profile) after exactly
    `epochs` epochs, one per seed."""
    import keras

    from tl_kit import (FINE_TUNE_LAST_BLOCK, TransferModel, build_head, extract_features, fit_and_score,
                        load_dataset, load_vgg16)
    from tl_kit.features import FeatureCache
    from tl_kit.profiles import PROFILES

    profile = PROFILES["cpu"]
    data = load_dataset("emoji", profile=profile)  # lesson 03's data set
    splits = tuple(data.split(s) for s in ("train", "val", "test"))
    base, _ = load_vgg16("offline", input_shape=profile.input_shape, verbose=False)
    cache = FeatureCache(None)  # memory only: the other policy's features must not be reused
    feats = [extract_features(base, x, "block5_pool", cache=cache, progress=False, verbose=False) for x, _ in splits]
    start_weights = base.get_weights()
    scores = []
    for seed in range(seeds):
        base.set_weights(start_weights)
        keras.utils.set_random_seed(seed)
        head = build_head(feats[0].shape[1:], data.num_classes, features=feats[0], name="head")
        fit_and_score("head", head, *((f, y) for f, (_, y) in zip(feats, splits)), epochs=profile.head_epochs,
                      batch_size=profile.batch_size, seed=seed)
        model = TransferModel(base, head)
        model.use_preset(FINE_TUNE_LAST_BLOCK, learning_rate=1e-5)
        run = model.fit(*splits, epochs=epochs, batch_size=profile.batch_size, cache=cache, seed=seed, balanced=True)
        scores.append(run.test_accuracy)
    return scores


def measure(policy: str, seeds: int, epochs: int) -> dict:
    """Everything for one policy, in a fresh process."""
    env = {**os.environ, "TL_KIT_BENCH_POLICY": policy}
    code = (f"import json, sys; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); import bf16; "
            f"print(json.dumps(bf16.measure_here({seeds}, {epochs})))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"the {policy} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_here(seeds: int, epochs: int) -> dict:
    import keras

    import tl_kit

    tl_kit.start(quiet=True)
    policy = os.environ["TL_KIT_BENCH_POLICY"]
    keras.config.set_dtype_policy(policy)
    return {"policy": policy, **speed(), "test_accuracy": accuracy(seeds, epochs)}


def compare(seeds: int = 5, epochs: int = 8) -> dict:
    """Both policies, and what results.json records about them."""
    from tl_kit.reporting import paired_interval

    runs = {policy: measure(policy, seeds, epochs) for policy in POLICIES}
    fp32, bf16 = runs["float32"], runs["mixed_bfloat16"]
    delta = paired_interval(bf16["test_accuracy"], fp32["test_accuracy"])
    return {"bf16": {"runs": runs, "seeds": seeds, "epochs": epochs, "image_size_speed": 96,
                     "accuracy_delta_interval": [delta.low, delta.mean, delta.high]},
            "bf16_forward_speedup": bf16["forward_images_per_s"] / fp32["forward_images_per_s"],
            "bf16_train_speedup": bf16["train_step_images_per_s"] / fp32["train_step_images_per_s"],
            "bf16_accuracy_delta_points": delta.mean}


START, END = "<!-- bf16:start -->", "<!-- bf16:end -->"


def render(res: dict) -> str:
    """docs/configuration.md's paragraph on lower precision (section *Profiles*), from results.json."""
    b = res["bf16"]
    low, mean, high = b["accuracy_delta_interval"]
    verdict = ("faster at the same accuracy (the interval holds 0), so it is offered"
               if low <= 0 <= high and res["bf16_train_speedup"] > 1 else "not faster at the same accuracy here")
    return (f"Measured by `make bench` on the 2-core machine (AVX-512 BF16), Keras' `mixed_bfloat16` against "
            f"`float32`: VGG16's forward pass {res['bf16_forward_speedup']:.1f}× and a block-5 fine-tuning step "
            f"{res['bf16_train_speedup']:.1f}× as fast at {b['image_size_speed']} px; lesson 03's block-5 fine-tune "
            f"(emoji, cpu profile, {b['epochs']} epochs each, {b['seeds']} paired seeds) scored {mean:+.1f} points "
            f"(95% interval {low:+.1f} to {high:+.1f}) with it: {verdict}.")


def write_readme(res: dict) -> None:
    readme = ROOT / "docs" / "configuration.md"
    head, rest = readme.read_text().split(START)
    _, tail = rest.split(END)
    readme.write_text(f"{head}{START}\n{render(res)}\n{END}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8, help="fine-tuning epochs, the same for both policies")
    args = parser.parse_args()
    print(json.dumps(compare(args.seeds, args.epochs), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
