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
from .i18n import N_, _

#: Why a file that is no image by its suffix is listed as unreadable (kept in English in the report's
#: data, shown through `_()`; other reasons are the image library's own error messages).
NOT_AN_IMAGE = N_("not an image file type")


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
        out = []
        for path, why in self.unreadable:
            reason = _(NOT_AN_IMAGE) if why == NOT_AN_IMAGE else why
            out.append(_("unreadable: {file} ({reason})").format(file=rel(path), reason=reason))
        out += [_("small class: {name!r} has {n} image(s); aim for at least {minimum}").format(
            name=name, n=n, minimum=self.min_per_class) for name, n in self.small]
        if self.imbalance > self.max_imbalance:
            big, small = max(self.counts, key=self.counts.get), min(self.counts, key=self.counts.get)
            out.append(_("imbalanced: {big!r} has {ratio:.1f}× the images of {small!r} ({big_count} vs "
                         "{small_count}): plain accuracy would reward guessing {big!r}. The lesson scores balanced "
                         "accuracy (every class counts the same) and can weight the training loss by class "
                         "(tl_kit.class_weights); more images of the small classes help most.").format(
                big=big, ratio=self.imbalance, small=small, big_count=self.counts[big],
                small_count=self.counts[small]))
        for group in self.duplicates:
            files = ", ".join(rel(p) for p in group)
            if group in self.conflicting:
                out.append(_("the same image in different classes: {files}").format(files=files))
            else:
                out.append(_("exact duplicates: {files}").format(files=files))
        return out

    def _sentence(self, markup: bool = False) -> str:
        """The first line: how many readable images in how many classes, and the imbalance (as HTML
        with the folder in bold when `markup`)."""
        text = _("{root}: {n} readable images in {classes} classes (largest ÷ smallest: {ratio:.1f})")
        root = str(self.root)
        if markup:
            text, root = html.escape(text, quote=False), f"<b>{html.escape(root)}</b>"
        return text.format(root=root, n=sum(self.counts.values()), classes=len(self.counts), ratio=self.imbalance)

    def __str__(self) -> str:
        lines = [self._sentence()]
        lines += [f"  {name:<20} {n:>5}" for name, n in self.counts.items()]
        lines += [_("problems:")] + [f"  - {p}" for p in self.problems] if self.problems else [_("no problems found")]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        from .tables import html_table

        # TRANSLATORS: the only item of the list under "Problems" when the folder check found none.
        none = _("none")
        problems = "".join(f"<li>{html.escape(p)}</li>" for p in self.problems) or f"<li>{none}</li>"
        # TRANSLATORS: a column header in a table of images per class: the class's name.
        class_header = _("class")
        # TRANSLATORS: a column header in a table of images per class: how many readable images the class has.
        headers = (class_header, _("images"))
        # TRANSLATORS: the heading of the list of what the folder check found wrong.
        heading = _("Problems")
        return (f"<p>{self._sentence(markup=True)}</p>"
                f"{html_table(headers, self.counts.items())}<p><b>{heading}</b></p><ul>{problems}</ul>")


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
                    unreadable.append((file, NOT_AN_IMAGE))
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
