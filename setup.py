"""What pyproject.toml cannot say statically: the shipped data's folders, as packages.

The data sets in data/ install as the package `tl_kit.shipped_data` (see tl_kit/config.py), which
in the repository is a link to data/, so that every package lives where its name says and
`pip install -e .` can put the repository on the path as it is (a package mapped elsewhere makes
setuptools install an import hook instead, and warn about it). The data's class folders
(`emoji/train/food/`) look importable to setuptools, which warns, once per folder, unless each is
listed as a (namespace) package, as its package discovery guide asks. A folder whose name is not an
identifier (`t-shirt_top/`) is not a package: its files are its parent's package data.
"""

from pathlib import Path

from setuptools import setup

DATA = Path(__file__).parent / "data"


def data_packages() -> dict[str, list[str]]:
    """{package: its data-file patterns} for data/ and every folder below it that is a package."""
    found = {}
    for folder in [DATA, *sorted(p for p in DATA.rglob("*") if p.is_dir())]:
        parts = folder.relative_to(DATA).parts
        if all(part.isidentifier() for part in parts):
            others = [f"{child.name}/*" for child in sorted(folder.iterdir())
                      if child.is_dir() and not child.name.isidentifier()]
            found[".".join(("tl_kit", "shipped_data", *parts))] = ["*", *others]
    return found


def locale_packages() -> dict[str, list[str]]:
    """The kit's message catalogs (tl_kit/locale/<language>/LC_MESSAGES/tl_kit.po), each folder a package
    for the same reason as the data's."""
    root = Path(__file__).parent / "tl_kit" / "locale"
    folders = [root, *sorted(p for p in root.rglob("*") if p.is_dir())]
    return {".".join(("tl_kit", "locale", *f.relative_to(root).parts)): ["*.po"] for f in folders}


packages = {**data_packages(), **locale_packages()}
setup(
    packages=["tl_kit", *packages],
    package_dir={"": "."},
    package_data={"tl_kit": ["lesson_times.json"], **packages},
)
