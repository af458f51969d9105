"""Loading images: the data sets that ship with the kit, or any folder of class subfolders.

A teacher's own photos and the shipped set go through the same `load_image_folder`, so what a
lesson does with Fashion-MNIST it does with a folder of cats and dogs. Bad input never ends in
a stack trace from deep inside a framework: folders that cannot work raise `DataError` with
what to do; single files that cannot be read are skipped with a `DataWarning` naming them.

    >>> ds = load_dataset("fashion_mnist", profile=get_profile("fast"))   # doctest: +SKIP
    >>> ds.x_train.shape                                                   # doctest: +SKIP
    (100, 32, 32, 3)
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import config
from .errors import DataError, DataWarning, ImageError, OptionError, ShapeError
from .i18n import N_, _
from .preprocessing import pil_to_rgb, resize_rgb
from .profiles import Profile, get_profile

#: Data sets that ship with the kit, by name: each a folder under `config.shipped_data_dir()`
#: (data/README.md says where each comes from). fashion_mnist: 10 kinds of clothing, grayscale;
#: emoji: colour emoji in 6 kinds of object, split by emoji (test emojis never seen in training).
SHIPPED = ("fashion_mnist", "emoji")
#: The data set the lessons use when nothing else is asked for.
DEFAULT_DATASET = "fashion_mnist"
SPLITS = ("train", "val", "test")
#: The splits' column headers in `Dataset.summary` (each shown through `_()`).
_SPLIT_HEADERS = {
    # TRANSLATORS: a column header (5 characters wide) in a table of images per class: the training split.
    "train": N_("train"),
    # TRANSLATORS: a column header (5 characters wide) in a table of images per class: the validation split.
    "val": N_("val"),
    # TRANSLATORS: a column header (5 characters wide) in a table of images per class: the test split.
    "test": N_("test"),
}
_SPLIT_ALIASES = {"train": ("train", "training"), "val": ("val", "valid", "validation"),
                  "test": ("test", "testing")}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
#: Fractions for splitting a folder that has no train/val/test subfolders.
SPLIT_FRACTIONS = {"train": 0.7, "val": 0.15, "test": 0.15}
_LISTED = 8  # how many file names a warning lists before "and N more"


@dataclass
class ImageFolder:
    """Images read from one folder of class subfolders."""

    images: np.ndarray  #: (N, size, size, 3) uint8 RGB
    labels: np.ndarray  #: (N,) int64 index into class_names
    class_names: list[str]
    paths: list[Path]
    skipped: list[tuple[Path, str]] = field(default_factory=list)


@dataclass
class Dataset:
    """A train/val/test split of labelled images, all resized to `image_size`."""

    name: str
    root: Path
    class_names: list[str]
    image_size: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    skipped: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(images, labels) of 'train', 'val' or 'test'."""
        if name not in SPLITS:
            raise OptionError(f"Unknown split {name!r}; use one of {', '.join(SPLITS)}.")
        return getattr(self, f"x_{name}"), getattr(self, f"y_{name}")

    def counts(self) -> dict[str, np.ndarray]:
        """Images per class, for each split."""
        return {s: np.bincount(self.split(s)[1], minlength=self.num_classes) for s in SPLITS}

    def imbalanced(self, classes: list[str], shares: list[float], seed: int = 0) -> "Dataset":
        """These `classes` only, each split keeping `share` of each class's images (the first class
        its all, say 1.0, the others less): an imbalanced data set, as most real folders are, made
        from a balanced one, with the same proportions in every split, as a folder's split would
        have. At least two images of a class stay in each split.

        >>> shoes = dataset.imbalanced(["ankle_boot", "sandal", "sneaker"], [1.0, 0.25, 0.1])  # doctest: +SKIP
        """
        if len(classes) != len(shares) or not classes:
            raise ShapeError(f"Give one share per class: {len(classes)} classes, {len(shares)} shares.")
        unknown = [c for c in classes if c not in self.class_names]
        if unknown:
            raise OptionError(f"Unknown class(es) {unknown}; this data set has {self.class_names}.")
        rng = np.random.default_rng(seed)
        parts = {}
        for split in SPLITS:
            x, y = self.split(split)
            keep = []
            for new, (name, share) in enumerate(zip(classes, shares)):
                idx = np.flatnonzero(y == self.class_names.index(name))
                count = min(len(idx), max(2, round(share * len(idx))))
                keep.append((np.sort(rng.choice(idx, count, replace=False)), new))
            order = np.concatenate([i for i, _ in keep])
            parts[split] = (x[order], np.concatenate([np.full(len(i), new) for i, new in keep]).astype(y.dtype))
        return Dataset(f"{self.name} ({', '.join(classes)}, imbalanced)", self.root, list(classes), self.image_size,
                       *parts["train"], *parts["val"], *parts["test"])

    def summary(self) -> str:
        """A few lines: where the data came from, its size, and counts per class and split."""
        counts = self.counts()
        width = max(len(c) for c in self.class_names)
        # TRANSLATORS: the header of the column of class names, in a table of images per class and split.
        class_header = _("class")
        lines = [_("Data: {name} ({root}), {classes} classes, {size}×{size} px").format(
                     name=self.name, root=self.root, classes=self.num_classes, size=self.image_size),
                 f"  {class_header:<{width}}  " + "  ".join(f"{_(_SPLIT_HEADERS[s]):>5}" for s in SPLITS)]
        for i, c in enumerate(self.class_names):
            lines.append(f"  {c:<{width}}  " + "  ".join(f"{counts[s][i]:>5}" for s in SPLITS))
        # TRANSLATORS: the last row of a table of images per class and split: the sum over the classes.
        total = _("total")
        lines.append(f"  {total:<{width}}  " + "  ".join(f"{counts[s].sum():>5}" for s in SPLITS))
        if self.skipped:
            lines.append("  " + _("skipped {n} unreadable file(s)").format(n=len(self.skipped)))
        return "\n".join(lines)


def take_per_class(labels: np.ndarray, per_class: int | None, seed: int = 0) -> np.ndarray:
    """Indices of a seeded random draw of `per_class` items of every class (all if None).

    The draw for n is a prefix of the draw for n+1 with the same seed, so a label-efficiency
    curve adds images rather than swapping them. Raises DataError when a class has fewer.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        if per_class is not None:
            if len(idx) < per_class:
                raise DataError(f"Class {int(c)} has {len(idx)} images, fewer than the {per_class} asked for.")
            idx = idx[:per_class]
        chosen.append(idx)
    return np.sort(np.concatenate(chosen))


def _choose(paths: list[Path], per_class: int | None, seed: int, label: int) -> list[Path]:
    """A seeded random subset of `per_class` of a class's files, in file-name order (all if None)."""
    if per_class is None or len(paths) <= per_class:
        return paths
    rng = np.random.default_rng([seed, label])
    return [paths[i] for i in sorted(rng.choice(len(paths), per_class, replace=False))]


def _visible(path: Path) -> bool:
    return not path.name.startswith((".", "_")) and path.name != "__MACOSX"


def list_class_folders(root: Path) -> dict[str, list[Path]]:
    """Class name → its image files (sorted), for a folder of class subfolders.

    Raises DataError for a missing folder, fewer than two classes, or an empty class folder.
    Files that are not images by their suffix are left out here and reported by the caller.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"The data folder {root} does not exist. Check the path "
                        f"(or unset {config.SETTINGS['data'].env} to use the shipped data).")
    if not root.is_dir():
        raise DataError(f"{root} is a file, not a folder. Give a folder with one subfolder per class.")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and _visible(p))
    if len(classes) < 2:
        found = ", ".join(repr(p.name) for p in classes) or "none"
        raise DataError(
            f"{root} needs at least two class subfolders (one per label, e.g. cats/ and dogs/); "
            f"found {len(classes)}: {found}. A classifier needs two or more classes to tell apart."
        )
    files = {c.name: sorted(p for p in c.rglob("*") if p.is_file() and _visible(p)) for c in classes}
    empty = [name for name, paths in files.items() if not paths]
    if empty:
        raise DataError(
            f"Class folder(s) {', '.join(repr(e) for e in empty)} in {root} contain no files. "
            "Add images to them or remove the empty folder(s)."
        )
    return files


def read_image(path: Path, image_size: int) -> np.ndarray:
    """Read one image file as a (size, size, 3) uint8 RGB array; raises ImageError if unreadable."""
    try:
        with Image.open(path) as image:
            image.load()  # decode now: a truncated file fails here, not later
            image = ImageOps.exif_transpose(image)
            return resize_rgb(pil_to_rgb(image), image_size)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageError(f"{path} is not a readable image ({err}): replace or remove the file.") from err


def _warn_skipped(skipped: list[tuple[Path, str]], root: Path) -> None:
    if not skipped:
        return
    names = [f"{p.relative_to(root) if p.is_relative_to(root) else p} ({why})" for p, why in skipped[:_LISTED]]
    more = f", and {len(skipped) - _LISTED} more" if len(skipped) > _LISTED else ""
    warnings.warn(f"Skipped {len(skipped)} file(s) in {root} that are not readable images: "
                  + "; ".join(names) + more + ". Remove or replace them to silence this.",
                  DataWarning, stacklevel=3)


def _read_files(files: list[tuple[Path, int]], image_size: int, root: Path) -> ImageFolder:
    images, labels, paths, skipped = [], [], [], []
    iterator = files
    if len(files) >= 2000:
        from tqdm.auto import tqdm

        iterator = tqdm(files, desc=_("reading {folder}").format(folder=root.name), unit="img", leave=False)
    for path, label in iterator:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append((path, "not an image file type"))
            continue
        try:
            images.append(read_image(path, image_size))
        except ImageError as err:
            skipped.append((path, str(err.__cause__ or err)))
            continue
        labels.append(label)
        paths.append(path)
    _warn_skipped(skipped, root)
    stacked = np.stack(images) if images else np.zeros((0, image_size, image_size, 3), np.uint8)
    return ImageFolder(stacked, np.asarray(labels, dtype=np.int64), [], paths, skipped)


def load_image_folder(path: str | os.PathLike, image_size: int, *, per_class: int | None = None,
                      seed: int = 0, class_names: list[str] | None = None) -> ImageFolder:
    """Read a folder of class subfolders into arrays, every image resized to image_size².

    Args:
        path: a folder holding one subfolder per class (``cats/``, ``dogs/``, ...).
        image_size: side of the square images returned.
        per_class: read only a seeded random subset of this many files per class (all if None).
        seed: seed of that subset.
        class_names: the expected classes, in label order (e.g. those of the training split);
            a folder whose classes differ raises DataError.

    Grayscale, palette, RGBA and 16-bit images become RGB; sizes may be mixed. Files that are
    not images, or are corrupt, are skipped with a DataWarning naming them.

    >>> folder = load_image_folder("data/fashion_mnist/test", 32, per_class=2)  # doctest: +SKIP
    >>> folder.images.shape, folder.class_names[:2]                             # doctest: +SKIP
    ((20, 32, 32, 3), ['ankle_boot', 'bag'])
    """
    root = Path(path)
    files = list_class_folders(root)
    names = sorted(files)
    if class_names is not None and names != list(class_names):
        missing = sorted(set(class_names) - set(names))
        extra = sorted(set(names) - set(class_names))
        raise DataError(f"{root} does not have the same classes as the training data: "
                        f"missing {missing or 'none'}, unexpected {extra or 'none'}. "
                        "Every split needs the same class folders.")
    chosen = [(p, label) for label, name in enumerate(names)
              for p in _choose(files[name], per_class, seed, label)]
    folder = _read_files(chosen, image_size, root)
    folder.class_names = names
    counts = np.bincount(folder.labels, minlength=len(names))
    unreadable = [n for n, c in zip(names, counts) if c == 0]
    if unreadable:
        raise DataError(f"Class folder(s) {', '.join(map(repr, unreadable))} in {root} hold no readable "
                        "image (see the warning above for the files). Add images or remove the folder(s).")
    return folder


def _find_split_folders(root: Path) -> dict[str, Path] | None:
    """The train/val/test subfolders of root (val optional), or None when root is one class folder set."""
    found = {}
    for split, aliases in _SPLIT_ALIASES.items():
        for alias in aliases:
            if (root / alias).is_dir():
                found[split] = root / alias
                break
    if "train" in found and ("val" in found or "test" in found):
        return found
    return None


def _split_files(files: dict[str, list[Path]], seed: int) -> dict[str, dict[str, list[Path]]]:
    """Stratified, seeded split of each class's files into train/val/test by SPLIT_FRACTIONS."""
    from sklearn.model_selection import train_test_split

    split: dict[str, dict[str, list[Path]]] = {s: {} for s in SPLITS}
    for name, paths in files.items():
        if len(paths) < 3:
            raise DataError(f"Class {name!r} has only {len(paths)} file(s); at least 3 are needed to split it "
                            "into train, val and test. Add images, or provide train/ val/ test/ subfolders.")
        rest, test = train_test_split(paths, test_size=max(1, round(len(paths) * SPLIT_FRACTIONS["test"])),
                                      random_state=seed)
        train, val = train_test_split(rest, test_size=max(1, round(len(paths) * SPLIT_FRACTIONS["val"])),
                                      random_state=seed)
        split["train"][name], split["val"][name], split["test"][name] = sorted(train), sorted(val), sorted(test)
    return split


def png_checksum(root: Path) -> tuple[str, int]:
    """SHA-256 over every PNG below `root` (sorted relative path, a NUL byte, then the file's bytes),
    and their total size in bytes: the checksum data/README.md gives for each shipped set, so a
    teacher can check a copy and the scripts under scripts/ can record it."""
    digest, size = hashlib.sha256(), 0
    for path in sorted(Path(root).rglob("*.png")):
        data = path.read_bytes()
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + data)
        size += len(data)
    return digest.hexdigest(), size


def shipped_path(name: str) -> Path:
    """The folder of a shipped data set ("fashion_mnist", ...), wherever the kit is installed."""
    if name not in SHIPPED:
        raise DataError(f"No shipped data set {name!r}; the kit ships {', '.join(SHIPPED)}.")
    root = config.shipped_data_dir() / name
    if not root.is_dir():
        raise DataError(f"The shipped data set {name!r} is missing from {root.parent}. Reinstall the kit, or set "
                        f"{config.SETTINGS['shipped_data'].env} to the folder that holds {name}/.")
    return root


def resolve_data_root(name_or_path: str | os.PathLike | None = None) -> tuple[str, Path]:
    """Where the lessons' data comes from: an explicit argument, else $TL_KIT_DATA, else the default set.

    A name is a shipped set (SHIPPED) or an online one ("tf_flowers", "cats_vs_dogs":
    downloaded once, see tl_kit.online); anything else is a folder path.
    """
    from .online import ONLINE, online_root

    chosen = name_or_path if name_or_path is not None else config.data_choice() or DEFAULT_DATASET
    if isinstance(chosen, str) and chosen in SHIPPED:
        return chosen, shipped_path(chosen)
    if isinstance(chosen, str) and chosen in ONLINE:
        return chosen, online_root(chosen)
    root = Path(chosen).expanduser()
    if not root.exists():
        raise DataError(f"No data set named {str(chosen)!r}: it is neither a shipped set "
                        f"({', '.join(SHIPPED)}), an online one ({', '.join(ONLINE)}), nor an existing folder. "
                        f"Give a folder of class subfolders (or train/ val/ test/ of them).")
    return root.name, root.resolve()


def load_dataset(name_or_path: str | os.PathLike | None = None, profile: Profile | None = None, *,
                 image_size: int | None = None, seed: int = 0) -> Dataset:
    """Load a train/val/test data set sized by the profile.

    Args:
        name_or_path: a shipped set ("fashion_mnist", "emoji"), an online one ("tf_flowers",
            "cats_vs_dogs"), or a folder holding either train/ val/ test/
            subfolders of class folders (val may be missing: it is split off train), or class
            folders directly (split 70/15/15, seeded and stratified). None: $TL_KIT_DATA if set,
            else the shipped set.
        profile: decides the image size and images per class per split (default: get_profile()).
        image_size: overrides the profile's image size.
        seed: seed of the subsets and splits; the same seed gives the same images.
    """
    profile = profile or get_profile()
    size = image_size or profile.image_size
    name, root = resolve_data_root(name_or_path)
    per_split = {"train": profile.train_per_class, "val": profile.val_per_class, "test": profile.test_per_class}

    split_dirs = _find_split_folders(root)
    if split_dirs is not None:
        train = load_image_folder(split_dirs["train"], size, per_class=per_split["train"], seed=seed)
        names = train.class_names
        parts = {"train": train}
        for split in ("val", "test"):
            if split in split_dirs:
                parts[split] = load_image_folder(split_dirs[split], size, per_class=per_split[split],
                                                 seed=seed, class_names=names)
        for split in ("val", "test"):  # a missing one is split off the training images
            if split not in parts:
                parts["train"], parts[split] = _carve(parts["train"], split, seed)
    else:
        files = list_class_folders(root)
        names = sorted(files)
        split = _split_files(files, seed)
        parts = {}
        for s in SPLITS:
            chosen = [(p, label) for label, cname in enumerate(names)
                      for p in _choose(split[s][cname], per_split[s], seed, label)]
            parts[s] = _read_files(chosen, size, root)
            parts[s].class_names = names
    skipped = [item for part in parts.values() for item in part.skipped]
    return Dataset(name, root, names, size,
                   parts["train"].images, parts["train"].labels,
                   parts["val"].images, parts["val"].labels,
                   parts["test"].images, parts["test"].labels, skipped)


def _carve(train: ImageFolder, split: str, seed: int) -> tuple[ImageFolder, ImageFolder]:
    """Split a stratified val or test part off a training folder that came without one."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(train.labels))
    fraction = SPLIT_FRACTIONS[split] / (SPLIT_FRACTIONS["train"] + SPLIT_FRACTIONS[split])
    try:
        tr, va = train_test_split(idx, test_size=fraction, stratify=train.labels, random_state=seed)
    except ValueError as err:
        raise DataError(f"Cannot split a {split} set off the training images ({err}). "
                        f"Add a {split}/ folder or more training images per class.") from err
    tr, va = np.sort(tr), np.sort(va)

    def part(i: np.ndarray) -> ImageFolder:
        return ImageFolder(train.images[i], train.labels[i], train.class_names, [train.paths[j] for j in i])

    return part(tr), part(va)
