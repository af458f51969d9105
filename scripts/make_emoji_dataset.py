"""Build data/emoji/: colour emoji in six object classes, for "recognise a new object of a known kind".

The pictures are the glyphs of Noto Color Emoji as Debian's package `fonts-noto-color-emoji`
installs it (/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf). The classes are unions of the
Unicode emoji subgroups in emoji-test.txt from Debian's package `unicode-data`
(/usr/share/unicode/emoji/emoji-test.txt); see CLASSES for the rule. Each emoji is rendered once
with Pillow, cropped, padded to a square, resized to 96×96 and put on white. A seeded draw puts
every emoji into exactly one of train/val/test, so the test set holds emojis the model never saw.
The files go into class folders; data/emoji/emoji.csv records where each came from, and the
emoji section of data/README.md is rewritten with the counts and a checksum over every file.

Run from the repository root:

    python scripts/make_emoji_dataset.py [--font TTF] [--emoji-test TXT] [--seed 0]

The output is deterministic: the same font, emoji-test.txt, seed and Pillow build give identical
files and checksum. (PNG bytes depend on the zlib that Pillow links, so another Pillow build may
compress differently; tests/test_emoji_data.py therefore compares decoded pixels.)
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

from tl_kit.data import png_checksum

FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
PACKAGES = ("fonts-noto-color-emoji", "unicode-data")
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "emoji"
README = ROOT / "data" / "README.md"

# Class = union of whole Unicode subgroups, nothing picked by hand. food-marine (crab, lobster,
# shrimp, squid, oyster) is left out: Noto draws them as whole live animals, just like
# animal-marine's octopus or fish, so a "food" label would contradict what the picture shows, and
# moving them to "animal" would need per-emoji exceptions to Unicode's grouping.
CLASSES: dict[str, tuple[str, ...]] = {
    "animal": ("animal-mammal", "animal-bird", "animal-amphibian", "animal-reptile",
               "animal-marine", "animal-bug"),
    "plant": ("plant-flower", "plant-other"),
    "food": ("food-fruit", "food-vegetable", "food-prepared", "food-asian", "food-sweet"),
    "transport": ("transport-ground", "transport-water", "transport-air"),
    "clothing": ("clothing",),
    "building": ("place-building",),
}
SPLITS = ("train", "val", "test")
MIN_TRAIN = 10  # per class: enough emojis to learn a kind from, with 4+ left for val

FONT_SIZE = 109  # Noto Color Emoji is a CBDT bitmap font with one strike, at 109 px
IMAGE_SIZE = 96
VARIATION_SELECTOR = 0xFE0F  # asks for emoji presentation; not part of the glyph
ZWJ = 0x200D
SKIN_TONES = range(0x1F3FB, 0x1F400)  # Fitzpatrick modifiers
HAIR_STYLES = range(0x1F9B0, 0x1F9B4)  # red, curly, bald, white hair components
GENDER_SIGNS = (0x2640, 0x2642)  # ♀ and ♂ in "woman …" and "man …" ZWJ sequences
LINE = re.compile(r"^(?P<codes>[0-9A-F ]+?)\s*;\s*(?P<status>[a-z-]+)\s*#\s*\S+\s+E\d+\.\d+\s+(?P<name>.+)$")
CSV_FIELDS = ("file", "split", "class", "subgroup", "codepoints", "name")
README_BEGIN = "<!-- emoji section: written by scripts/make_emoji_dataset.py -->"
README_END = "<!-- end of emoji section -->"


@dataclass(frozen=True)
class Emoji:
    """One fully-qualified line of emoji-test.txt."""

    codepoints: tuple[int, ...]  # as listed, FE0F included
    name: str  # the CLDR short name
    subgroup: str

    @property
    def glyph(self) -> str:
        """The text to draw: the code points without the variation selector, which has no glyph."""
        return "".join(chr(c) for c in self.codepoints if c != VARIATION_SELECTOR)

    @property
    def stem(self) -> str:
        """File name without suffix, e.g. '1f415_dog': lower-case hex joined by '-', ASCII slug."""
        hexes = "-".join(f"{c:x}" for c in self.codepoints if c != VARIATION_SELECTOR)
        return f"{hexes}_{slug(self.name)}"


@dataclass(frozen=True)
class Build:
    """What build() wrote: emojis per class and split, and those the font could not render."""

    splits: dict[str, dict[str, list[Emoji]]]  # class -> split -> emojis
    skipped: list[Emoji]


def slug(name: str) -> str:
    """ASCII file-name form of a CLDR name: 'woman’s boot' -> 'womans_boot', 'T-Rex' -> 't_rex'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_name.replace("'", "")).strip("_")


def check_sources(font: Path, emoji_test: Path) -> None:
    """Fail with the apt package to install when the font or emoji-test.txt is missing."""
    for path, package, flag in ((font, PACKAGES[0], "--font"), (emoji_test, PACKAGES[1], "--emoji-test")):
        if not path.is_file():
            raise SystemExit(f"{path} not found. Install it with `apt-get install {package}` "
                             f"or pass {flag} PATH.")


def read_emoji_test(path: Path) -> list[Emoji]:
    """Every fully-qualified emoji of emoji-test.txt, in file order, with its subgroup."""
    emojis, subgroup = [], ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif (match := LINE.match(line)) and match["status"] == "fully-qualified":
            codes = tuple(int(c, 16) for c in match["codes"].split())
            emojis.append(Emoji(codes, match["name"].strip(), subgroup))
    return emojis


def unicode_emoji_version(path: Path) -> str:
    """The 'Version:' of emoji-test.txt's header, e.g. '15.0'."""
    match = re.search(r"^# Version: (\S+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise SystemExit(f"{path} has no '# Version:' header line; is it Unicode's emoji-test.txt?")
    return match[1]


def select(emojis: list[Emoji]) -> dict[str, list[Emoji]]:
    """Per class, its subgroups' emojis without near-duplicates of the same picture.

    Left out: skin-tone variants, sequences with a hair-style component or ♀/♂ (gendered
    variants of one figure), and ZWJ sequences whose first code point is an emoji already in
    the class (service dog, black cat, polar bear, black bird: the base animal restyled). A
    near-duplicate in one split and its base in another would leak test pictures into training.
    """
    chosen: dict[str, list[Emoji]] = {}
    for name, subgroups in CLASSES.items():
        members = [e for e in emojis if e.subgroup in subgroups]
        singles = {e.codepoints[0] for e in members if len(e.glyph) == 1}
        chosen[name] = [
            e for e in members
            if not any(c in SKIN_TONES or c in HAIR_STYLES or c in GENDER_SIGNS for c in e.codepoints)
            and not (ZWJ in e.codepoints and e.codepoints[0] in singles)
        ]
    return chosen


def render(font: ImageFont.FreeTypeFont, cmap: set[int], emoji: Emoji) -> Image.Image | None:
    """The emoji as a 96×96 RGB picture on white, or None when the font has no glyph for it.

    The glyph is drawn in colour on a transparent canvas, cropped to its opaque pixels, padded to
    a centred square (so the aspect ratio is kept), resized with LANCZOS and composited on white.
    """
    if len(emoji.glyph) != 1:
        raise ValueError(f"{emoji.name!r} ({emoji.stem}) needs text shaping to render; "
                         "leave it out in select() or render it with a shaping layout engine.")
    if ord(emoji.glyph) not in cmap:
        return None
    left, top, right, bottom = font.getbbox(emoji.glyph, mode="RGBA")
    canvas = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((-left, -top), emoji.glyph, font=font, embedded_color=True)
    box = canvas.getchannel("A").getbbox()
    if box is None:  # an empty glyph: nothing to learn from
        return None
    glyph = canvas.crop(box)
    side = max(glyph.size)
    square = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    square.paste(glyph, ((side - glyph.width) // 2, (side - glyph.height) // 2))
    small = square.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.LANCZOS)
    white = Image.new("RGBA", small.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, small).convert("RGB")


def split_sizes(n: int) -> dict[str, int]:
    """test = 40 % and val = 15 % (at least 4) of a class's n emojis, rounded half up; train the rest."""
    test = (40 * n + 50) // 100
    val = max(4, (15 * n + 50) // 100)
    return {"train": n - val - test, "val": val, "test": test}


def assign_splits(classes: dict[str, list[Emoji]], seed: int) -> dict[str, dict[str, list[Emoji]]]:
    """Per class (in CLASSES order), a seeded permutation cut into train, val and test."""
    rng = np.random.default_rng(seed)
    result: dict[str, dict[str, list[Emoji]]] = {}
    for name, members in classes.items():
        sizes = split_sizes(len(members))
        if sizes["train"] < MIN_TRAIN:
            raise SystemExit(f"class {name!r} has only {len(members)} renderable emojis, which leaves "
                             f"{sizes['train']} for training (need {MIN_TRAIN}); merge it with "
                             "another class or add subgroups to it in CLASSES.")
        order = rng.permutation(len(members))
        start, result[name] = 0, {}
        for split in SPLITS:
            picked = sorted(order[start:start + sizes[split]])
            result[name][split] = [members[i] for i in picked]
            start += sizes[split]
    return result


def png_bytes(image: Image.Image) -> bytes:
    """PNG with fixed options and no metadata chunks, so equal pixels give equal bytes.

    Highest zlib level: the data ships inside the kit, so its size counts more than save time.
    """
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=9)
    return buffer.getvalue()


def build(out: Path, font_path: Path = FONT, emoji_test: Path = EMOJI_TEST, seed: int = 0) -> Build:
    """Render, split and write the data set into out/ (replaced if it exists), with emoji.csv."""
    check_sources(font_path, emoji_test)
    # BASIC layout: the same pixels whether or not this Pillow has libraqm (every emoji drawn is one
    # code point, so no shaping is needed). The cmap tells a missing glyph from a drawn one.
    font = ImageFont.truetype(str(font_path), FONT_SIZE, layout_engine=ImageFont.Layout.BASIC)
    cmap = set(TTFont(font_path, lazy=True).getBestCmap())
    images: dict[Emoji, Image.Image] = {}
    renderable: dict[str, list[Emoji]] = {}
    skipped: list[Emoji] = []
    for name, members in select(read_emoji_test(emoji_test)).items():
        renderable[name] = []
        for emoji in members:
            image = render(font, cmap, emoji)
            if image is None:
                skipped.append(emoji)
            else:
                images[emoji] = image
                renderable[name].append(emoji)
    splits = assign_splits(renderable, seed)

    if out.exists():
        shutil.rmtree(out)
    rows = []
    for split in SPLITS:
        for name, per_split in splits.items():
            (out / split / name).mkdir(parents=True)
            for emoji in per_split[split]:
                relative = f"{split}/{name}/{emoji.stem}.png"
                (out / relative).write_bytes(png_bytes(images[emoji]))
                codes = " ".join(f"{c:04X}" for c in emoji.codepoints)
                rows.append((relative, split, name, emoji.subgroup, codes, emoji.name))
    with open(out / "emoji.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        writer.writerows(sorted(rows))
    return Build(splits, skipped)


def package_versions() -> dict[str, str]:
    """Installed versions of PACKAGES per dpkg-query; {} where dpkg-query is not available."""
    try:
        listing = subprocess.run(["dpkg-query", "-W", *PACKAGES], capture_output=True, text=True,
                                 check=True).stdout
    except (FileNotFoundError, subprocess.CalledProcessError):
        return {}
    return dict(line.split("\t", 1) for line in listing.splitlines())


def write_readme(result: Build, emoji_test: Path, seed: int) -> None:
    """Replace the emoji section of data/README.md (appended if absent), keeping the rest."""
    digest, size = png_checksum(OUT)
    versions = package_versions()
    rows, totals = [], dict.fromkeys(SPLITS, 0)
    for name, per_split in result.splits.items():
        counts = [len(per_split[s]) for s in SPLITS]
        rows.append(f"| {name} | " + " | ".join(map(str, counts)) +
                    f" | {', '.join(CLASSES[name])} |")
        for split, n in zip(SPLITS, counts, strict=True):
            totals[split] += n
    skipped = ", ".join(e.stem for e in result.skipped) or "none"
    section = README_SECTION.format(
        begin=README_BEGIN, end=README_END, seed=seed, rows="\n".join(rows),
        totals=" | ".join(map(str, totals.values())), digest=digest, size_kb=size // 1024,
        font_version=versions.get(PACKAGES[0], "unknown"),
        data_version=versions.get(PACKAGES[1], "unknown"),
        emoji_version=unicode_emoji_version(emoji_test), skipped=skipped,
    )
    text = README.read_text()
    if README_BEGIN in text:
        before, rest = text.split(README_BEGIN, 1)
        text = before + section + rest.split(README_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    README.write_text(text)


README_SECTION = """\
{begin}
## emoji/: colour emoji of six kinds of object

`emoji/` holds 96×96 colour pictures of emoji in six classes. Each emoji is in exactly one split,
so the test set asks "is this never-seen object an animal, a plant, a vehicle …?": a task of a
few dozen pictures per class, too few to train a network from scratch, where features learnt on
ImageNet (fur, leaves, wheels, roofs) should carry over.

- Pictures: the glyphs of **Noto Color Emoji** (Google), from Debian's package
  `fonts-noto-color-emoji` {font_version}. The font is under the SIL Open Font License 1.1;
  the emoji images are Apache License 2.0 upstream (https://github.com/googlefonts/noto-emoji).
  See `LICENSE-noto-emoji` beside this file.
- Classes and names: the emoji subgroups and CLDR short names of Unicode's `emoji-test.txt`
  (Unicode emoji version {emoji_version}), from Debian's package `unicode-data` {data_version}.
  © Unicode, Inc., under the Unicode data licence; see `LICENSE-unicode` beside this file.
- Made by `scripts/make_emoji_dataset.py` (seed {seed}). `emoji/emoji.csv` lists every file with
  its split, class, Unicode subgroup, code points and name.

### Classes

A class is the union of whole Unicode subgroups (table below), `fully-qualified` lines only.
Left out as near-duplicates of another picture: skin-tone variants (U+1F3FB–1F3FF), sequences
with a hair-style component or ♀/♂ (gendered variants of one figure), and ZWJ sequences whose
first code point is already in the class (service dog, black cat, polar bear, black bird).
`food-marine` (crab, lobster, shrimp, squid, oyster) is left out: Noto draws them as whole live
animals, so neither "food" nor "animal" would be a label without exceptions.
Whole subgroups also bring members that are not of the class's kind (place-building has brick,
rock and wood; transport-ground has traffic lights, a fuel pump and an oil drum): they are kept,
so that the labels stay Unicode's and no emoji is picked by hand.
Emojis the installed font cannot render (not in its cmap, or an empty glyph) are skipped:
{skipped}.

### Pictures and splits

Each glyph is drawn by Pillow at the font's one bitmap size (109 px) on a transparent canvas,
cropped to its opaque pixels, padded to a centred square, resized to 96×96 (LANCZOS) and put on
pure white, so that augmentation can treat pure white as background.

Per class of n emojis, a seeded permutation (numpy `default_rng({seed})`) gives test = 40 % and
val = max(4, 15 %) of n, both rounded half up; train gets the rest (at least 10 in every class).

    emoji/{{train,val,test}}/<class>/<code points>_<name>.png     e.g. train/animal/1f415_dog.png

Code points are lower-case hex joined by `-`, without U+FE0F; the name is an ASCII slug.

### Counts per class and split

| class | train | val | test | Unicode subgroups |
|---|---|---|---|---|
{rows}
| **total** | {totals} | |

### Checksum

SHA-256 over every PNG under `emoji/` (sorted relative path, a NUL byte, then the file's bytes),
as `scripts/make_emoji_dataset.py` computes it and `tests/test_emoji_data.py` checks it:

    {digest}

Total size of the PNG files: {size_kb} KiB.

### Why shipped as PNG files

The pictures are rendered once by the committed script and shipped, rather than rendered on
first use: Noto Color Emoji is not installed on macOS, Colab, Binder or conda hub images, and
its colour bitmaps (CBDT) render only where Pillow's FreeType build supports them. Shipped PNGs
work everywhere and offline. `tests/test_emoji_data.py` re-renders them wherever the Debian
packages are installed and checks that the pixels and file list come out the same.
{end}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", type=Path, default=FONT, help="NotoColorEmoji.ttf")
    parser.add_argument("--emoji-test", type=Path, default=EMOJI_TEST, help="Unicode's emoji-test.txt")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = build(OUT, args.font, args.emoji_test, args.seed)
    write_readme(result, args.emoji_test, args.seed)
    counts = {s: sum(len(p[s]) for p in result.splits.values()) for s in SPLITS}
    print(f"wrote {counts['train']} train, {counts['val']} val, {counts['test']} test images to {OUT}; "
          f"skipped {len(result.skipped)} the font cannot render")


if __name__ == "__main__":
    main()
