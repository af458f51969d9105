"""Build data/fashion_mnist/: the small, balanced Fashion-MNIST subset that tl-kit ships.

The full Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, MIT licence) is read from its four
idx files, as Debian's package `dataset-fashion-mnist` installs them under
/usr/share/datasets/fashion-mnist/ (Keras' cache ~/.keras/datasets/fashion-mnist/ holds the
same files). A seeded draw picks, per class, TRAIN and VAL images from the original training
set (disjoint) and TEST images from the original test set, and writes them as PNG files into
class folders. Its section of data/README.md is rewritten with the counts and a checksum over every file.

Run from the repository root:

    python scripts/make_fashion_subset.py [--source DIR] [--seed 0]

The output is deterministic: the same source and seed give byte-identical files and checksum.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from tl_kit.data import png_checksum

CLASS_NAMES = (
    "t-shirt_top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle_boot",
)
PER_CLASS = {"train": 300, "val": 50, "test": 100}
SOURCES = (
    Path("/usr/share/datasets/fashion-mnist"),
    Path.home() / ".keras" / "datasets" / "fashion-mnist",
)
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "fashion_mnist"


def read_idx(path: Path) -> np.ndarray:
    """Read a gzipped idx file (images: N×28×28 uint8, labels: N uint8)."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def find_source(explicit: Path | None) -> Path:
    candidates = [explicit] if explicit else list(SOURCES)
    for folder in candidates:
        if (folder / "train-images-idx3-ubyte.gz").exists():
            return folder
    raise SystemExit(
        "Fashion-MNIST not found in " + ", ".join(map(str, candidates)) +
        ". Install it with `apt-get install dataset-fashion-mnist` or pass --source DIR."
    )


def pick(labels: np.ndarray, counts: list[int], rng: np.random.Generator) -> list[np.ndarray]:
    """Per class, a seeded random draw of sum(counts) indices, cut into len(counts) disjoint parts."""
    parts: list[list[np.ndarray]] = [[] for _ in counts]
    for c in range(len(CLASS_NAMES)):
        idx = rng.permutation(np.flatnonzero(labels == c))
        start = 0
        for p, n in enumerate(counts):
            parts[p].append(np.sort(idx[start:start + n]))
            start += n
    return [np.concatenate(p) for p in parts]


def write_split(split: str, origin: str, images: np.ndarray, labels: np.ndarray,
                indices: np.ndarray) -> None:
    for i in indices:
        folder = OUT / split / CLASS_NAMES[labels[i]]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(images[i], mode="L").save(folder / f"{origin}_{i:05d}.png", optimize=True)


def write_readme(seed: int) -> None:
    digest, size = png_checksum(OUT)
    rows = []
    for name in CLASS_NAMES:
        counts = [len(list((OUT / s / name).glob("*.png"))) for s in PER_CLASS]
        rows.append(f"| {name} | " + " | ".join(map(str, counts)) + " |")
    totals = [len(list((OUT / s).rglob("*.png"))) for s in PER_CLASS]
    text = README_TEMPLATE.format(
        rows="\n".join(rows), totals=" | ".join(map(str, totals)), seed=seed,
        digest=digest, size_kb=size // 1024,
    )
    readme = ROOT / "data" / "README.md"
    old = readme.read_text() if readme.exists() else ""
    if README_BEGIN in old:  # keep what other scripts wrote (the emoji section): replace only ours
        after = old.split(README_END, 1)[1] if README_END in old else ""
        text = old.split(README_BEGIN, 1)[0] + text + after
    readme.write_text(text)


README_BEGIN = "# data/: the images that ship with tl-kit"
README_END = "<!-- end of fashion_mnist section -->"
README_TEMPLATE = """\
# data/: the images that ship with tl-kit

`fashion_mnist/` is a small, balanced subset of **Fashion-MNIST**: 28×28 grayscale photos of
clothing from Zalando's catalogue, 10 classes. Every lesson runs on it offline.

- Source: Han Xiao, Kashif Rasul, Roland Vollgraf, *Fashion-MNIST: a Novel Image Dataset for
  Benchmarking Machine Learning Algorithms*, 2017, https://github.com/zalandoresearch/fashion-mnist
- Licence: MIT, Copyright (c) 2017 Zalando SE; see `LICENSE-fashion-mnist` beside this file.
- Made by `scripts/make_fashion_subset.py` (seed {seed}) from the full data set as Debian's
  package `dataset-fashion-mnist` installs it (`/usr/share/datasets/fashion-mnist/`).
  `train/` and `val/` come from the original training set (disjoint), `test/` from the original
  test set. File names keep the origin: `train_01234.png` is image 1234 of the original
  training set.

## Layout

    fashion_mnist/{{train,val,test}}/<class name>/<origin>_<index>.png

The same layout works for your own images (see the main README, `TL_KIT_DATA`).

## Counts per class and split

| class | train | val | test |
|---|---|---|---|
{rows}
| **total** | {totals} |

The lessons use a seeded subset of these per profile (`tl_kit.profiles`): `fast` a few per class,
`cpu` more, `gpu` all of them.

## Checksum

SHA-256 over every PNG (sorted relative path, a NUL byte, then the file's bytes), as
`scripts/make_fashion_subset.py` computes it and `tests/test_data.py` checks it:

    {digest}

Total size of the PNG files: {size_kb} KiB.
<!-- end of fashion_mnist section -->"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None,
                        help="folder with the four Fashion-MNIST idx .gz files")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    source = find_source(args.source)
    rng = np.random.default_rng(args.seed)

    x_train = read_idx(source / "train-images-idx3-ubyte.gz")
    y_train = read_idx(source / "train-labels-idx1-ubyte.gz")
    x_test = read_idx(source / "t10k-images-idx3-ubyte.gz")
    y_test = read_idx(source / "t10k-labels-idx1-ubyte.gz")

    if OUT.exists():
        shutil.rmtree(OUT)
    train_idx, val_idx = pick(y_train, [PER_CLASS["train"], PER_CLASS["val"]], rng)
    (test_idx,) = pick(y_test, [PER_CLASS["test"]], rng)
    write_split("train", "train", x_train, y_train, train_idx)
    write_split("val", "train", x_train, y_train, val_idx)
    write_split("test", "test", x_test, y_test, test_idx)
    write_readme(args.seed)
    print(f"wrote {len(train_idx)} train, {len(val_idx)} val, {len(test_idx)} test images to {OUT}")


if __name__ == "__main__":
    main()
