"""A check-up for a folder of your own images, before any training.

`check_folder` reads a folder of class subfolders (or train/ val/ test/ of them) and reports
what a teacher wants to know before a lesson: images per class, files that are not readable
images, classes too small to learn from, and exact duplicates (the same file twice; in two
different classes it is a labelling mistake). Nothing is changed on disk.
"""

from __future__ import annotations

import hashlib
import html
import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import IMAGE_SUFFIXES, _find_split_folders, list_class_folders, read_image, shipped_path


@dataclass
class FolderReport:
    """What check_folder found; `problems` lists them in words (empty when all is well)."""

    root: Path
    counts: dict[str, int]
    unreadable: list[tuple[Path, str]] = field(default_factory=list)
    small: list[tuple[str, int]] = field(default_factory=list)
    duplicates: list[list[Path]] = field(default_factory=list)
    min_per_class: int = 10
    max_imbalance: float = 3.0  #: largest class ÷ smallest above which the imbalance is listed as a problem

    @property
    def imbalance(self) -> float:
        """The largest class's image count divided by the smallest's (1.0: balanced)."""
        counts = [n for n in self.counts.values() if n > 0]
        return max(counts) / min(counts) if counts else 1.0

    @property
    def conflicting(self) -> list[list[Path]]:
        """Duplicate groups whose copies sit in different class folders (a labelling mistake)."""
        return [group for group in self.duplicates if len({p.parent.name for p in group}) > 1]

    @property
    def problems(self) -> list[str]:
        rel = lambda p: str(p.relative_to(self.root))  # noqa: E731
        out = [f"unreadable: {rel(p)} ({why})" for p, why in self.unreadable]
        out += [f"small class: {name!r} has {n} image(s); aim for at least {self.min_per_class}" for name, n in self.small]
        if self.imbalance > self.max_imbalance:
            big, small = max(self.counts, key=self.counts.get), min(self.counts, key=self.counts.get)
            out.append(f"imbalanced: {big!r} has {self.imbalance:.1f}× the images of {small!r} ({self.counts[big]} vs "
                       f"{self.counts[small]}): plain accuracy would reward guessing {big!r}. The lesson scores "
                       "balanced accuracy (every class counts the same) and can weight the training loss by class "
                       "(tl_kit.class_weights); more images of the small classes help most.")
        for group in self.duplicates:
            kind = "the same image in different classes" if group in self.conflicting else "exact duplicates"
            out.append(f"{kind}: " + ", ".join(rel(p) for p in group))
        return out

    def __str__(self) -> str:
        lines = [f"{self.root}: {sum(self.counts.values())} readable images in {len(self.counts)} classes "
                 f"(largest ÷ smallest: {self.imbalance:.1f})"]
        lines += [f"  {name:<20} {n:>5}" for name, n in self.counts.items()]
        lines += ["problems:"] + [f"  - {p}" for p in self.problems] if self.problems else ["no problems found"]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from .tables import html_table

        problems = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems) or "<li>none</li>"
        return (f"<p><b>{html.escape(str(self.root))}</b>: {sum(self.counts.values())} readable images in "
                f"{len(self.counts)} classes (largest ÷ smallest: {self.imbalance:.1f})</p>"
                f"{html_table(('class', 'images'), self.counts.items())}<p><b>Problems</b></p><ul>{problems}</ul>")


def check_folder(path: str | Path, min_per_class: int = 10, max_imbalance: float = 3.0) -> FolderReport:
    """Check every file of a class-folder data set (see the module doc). Structural problems
    (no folder, one class, an empty class folder) raise DataError, as loading would."""
    root = Path(path)
    splits = _find_split_folders(root)
    folders = list(splits.values()) if splits else [root]
    counts: dict[str, int] = defaultdict(int)
    unreadable, by_hash = [], defaultdict(list)
    for folder in folders:
        for name, files in list_class_folders(folder).items():
            for file in files:
                if file.suffix.lower() not in IMAGE_SUFFIXES:
                    unreadable.append((file, "not an image file type"))
                    continue
                try:
                    read_image(file, 8)
                except Exception as err:  # report any unreadable file, whatever the library raised
                    unreadable.append((file, str(getattr(err, "__cause__", None) or err)))
                    continue
                counts[name] += 1
                by_hash[hashlib.sha256(file.read_bytes()).hexdigest()].append(file)
    small = [(name, n) for name, n in sorted(counts.items()) if n < min_per_class]
    duplicates = [sorted(group) for group in by_hash.values() if len(group) > 1]
    return FolderReport(root, dict(sorted(counts.items())), unreadable, small, duplicates, min_per_class,
                        max_imbalance)


def make_demo_folder(dest: str | Path, classes: tuple[str, ...] = ("ankle_boot", "sandal", "sneaker"),
                     per_class: int | dict[str, int] = 40, seed: int = 0) -> Path:
    """A small folder of class subfolders copied from the shipped Fashion-MNIST subset, so lesson 04
    runs before you have photos of your own. `per_class` is one count for every class, or a count
    per class (an imbalanced folder, like most real ones). Returns the folder (recreated if it exists)."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    rng = np.random.default_rng(seed)
    for name in classes:
        files = sorted((shipped_path("fashion_mnist") / "train" / name).glob("*.png"))
        (dest / name).mkdir(parents=True)
        count = per_class[name] if isinstance(per_class, dict) else per_class
        for i in rng.choice(len(files), size=min(count, len(files)), replace=False):
            shutil.copy(files[i], dest / name / files[i].name)
    return dest
