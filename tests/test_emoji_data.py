"""The shipped emoji set (data/emoji/) agrees with data/README.md, its licences and its script.

These tests read the files directly, not through tl_kit's loader, so that they check the data
itself: a changed, added or lost file fails one of them.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from tl_kit.data import png_checksum

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
EMOJI = DATA / "emoji"
SCRIPT = ROOT / "scripts" / "make_emoji_dataset.py"


@cache
def _script() -> ModuleType:
    """scripts/make_emoji_dataset.py as a module (registered first: its dataclasses need that)."""
    spec = importlib.util.spec_from_file_location("make_emoji_dataset", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _section() -> str:
    """The emoji section of data/README.md, between the script's markers."""
    text = (DATA / "README.md").read_text()
    script = _script()
    assert script.README_BEGIN in text and script.README_END in text, "no emoji section in data/README.md"
    return text.split(script.README_BEGIN, 1)[1].split(script.README_END, 1)[0]


def _documented_counts() -> Counter[tuple[str, str]]:
    """(class, split) -> count, from the README's table; the total row is checked against the sum."""
    splits = _script().SPLITS
    counts: Counter[tuple[str, str]] = Counter()
    totals = None
    for line in _section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not all(c.isdigit() for c in cells[1:4]):
            continue
        numbers = dict(zip(splits, map(int, cells[1:4]), strict=True))
        if cells[0] == "**total**":
            totals = numbers
        else:
            counts.update({(cells[0], s): n for s, n in numbers.items()})
    assert counts and totals, "no counts table in the emoji section of data/README.md"
    assert totals == {s: sum(n for (_, sp), n in counts.items() if sp == s) for s in splits}
    return counts


def _pngs() -> list[Path]:
    return sorted(EMOJI.rglob("*.png"))


def _codepoints(path: Path) -> str:
    """'1f415' from '1f415_dog.png': the emoji's identity, whatever its name."""
    return path.name.split("_", 1)[0]


def test_counts_per_class_and_split_match_the_readme_table():
    on_disk = Counter((p.parent.name, p.parent.parent.name) for p in _pngs())
    assert on_disk == _documented_counts()
    assert {p.relative_to(EMOJI).parts[0] for p in _pngs()} == set(_script().SPLITS)


def test_splits_follow_the_documented_rule_and_leave_ten_training_emojis_per_class():
    script, counts = _script(), _documented_counts()
    for name in script.CLASSES:
        sizes = {s: counts[name, s] for s in script.SPLITS}
        assert sizes == script.split_sizes(sum(sizes.values())), name
        assert sizes["train"] >= script.MIN_TRAIN, name


def test_no_emoji_is_in_two_splits():
    splits_of: dict[str, set[str]] = {}
    for path in _pngs():
        splits_of.setdefault(_codepoints(path), set()).add(path.relative_to(EMOJI).parts[0])
    shared = {code: splits for code, splits in splits_of.items() if len(splits) > 1}
    assert not shared, f"emojis in more than one split: {shared}"


def test_every_png_decodes_as_a_96x96_rgb_image():
    assert _pngs()
    for path in _pngs():
        with Image.open(path) as image:
            image.load()
            assert (image.format, image.size, image.mode) == ("PNG", (96, 96), "RGB"), path


def test_shipped_files_match_the_checksum_in_data_readme():
    documented = re.search(r"^\s{4}([0-9a-f]{64})$", _section(), re.MULTILINE).group(1)
    digest, size = png_checksum(EMOJI)
    assert digest == documented
    assert size < 5 * 1024 * 1024  # data/ must stay small enough to ship with the kit


def test_emoji_csv_lists_exactly_the_files_on_disk():
    with open(EMOJI / "emoji.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    listed = [row["file"] for row in rows]
    assert len(listed) == len(set(listed))
    assert set(listed) == {p.relative_to(EMOJI).as_posix() for p in _pngs()}
    for row in rows:
        assert row["file"].split("/")[:2] == [row["split"], row["class"]], row
        assert row["subgroup"] in _script().CLASSES[row["class"]], row


def test_licence_files_are_present_and_carry_the_licence_texts():
    font = (DATA / "LICENSE-noto-emoji").read_text()
    for text in ("SIL OPEN FONT LICENSE Version 1.1", "Apache License", "Version 2.0, January 2004",
                 "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION"):
        assert text in font
    unicode = (DATA / "LICENSE-unicode").read_text()
    for text in ("UNICODE, INC. LICENSE AGREEMENT", "Permission is hereby granted", "emoji-test.txt"):
        assert text in unicode
    assert "LICENSE-noto-emoji" in _section() and "LICENSE-unicode" in _section()


def test_script_reproduces_the_shipped_files_from_the_debian_packages(tmp_path):
    script = _script()
    for path, package in ((script.FONT, "fonts-noto-color-emoji"), (script.EMOJI_TEST, "unicode-data")):
        if not path.is_file():
            pytest.skip(f"{path} is not installed (Debian package {package}): cannot re-render the emoji set")
    installed = script.package_versions()
    for package in script.PACKAGES:
        documented = re.search(rf"`{package}` (\S+?)[.,]?\s", _section()).group(1)
        if installed.get(package, documented) != documented:
            pytest.skip(f"{package} {installed[package]} is installed, but data/emoji/ was made with "
                        f"{documented}: another version renders other pictures")
    seed = int(re.search(r"\(seed (\d+)\)", _section()).group(1))

    out = tmp_path / "emoji"
    script.build(out, script.FONT, script.EMOJI_TEST, seed)

    def files(root: Path) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())

    assert files(out) == files(EMOJI)
    assert (out / "emoji.csv").read_text(encoding="utf-8") == (EMOJI / "emoji.csv").read_text(encoding="utf-8")
    for name in files(EMOJI):
        if name.endswith(".png"):
            with Image.open(out / name) as rendered, Image.open(EMOJI / name) as shipped:
                assert np.array_equal(np.asarray(rendered), np.asarray(shipped)), name
