"""The documentation is split for its readers: a README read in five minutes, docs/ for the rest,
and every link between them resolves."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TWIN = ROOT / "README.zh.md"  # the README's Chinese twin


def _slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_readme_is_short_and_points_to_every_docs_page():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for page in PAGES[1:]:
        assert f"](docs/{page.name})" in readme, f"the README does not point to docs/{page.name}"


def test_every_link_in_the_readme_and_docs_resolves():
    for page in [*PAGES, TWIN]:
        text = page.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.relative_to(ROOT)} links to {target}, which does not exist"
            if anchor and linked.suffix == ".md":
                headings = {_slug(h) for h in re.findall(r"^#+ (.+)$", linked.read_text(), re.M)}
                assert anchor in headings, f"{page.relative_to(ROOT)} links to {target}: no such heading"


def test_the_readme_and_its_chinese_twin_point_to_each_other_and_to_the_chinese_lessons():
    readme, twin = (ROOT / "README.md").read_text(), TWIN.read_text()
    assert "](README.zh.md)" in readme and "](README.md)" in twin
    for lesson in sorted((ROOT / "notebooks" / "zh").glob("[0-9]*.ipynb")):
        assert f"`zh/{lesson.name}`" in twin, f"README.zh.md does not list {lesson.name}"
    assert "notebooks/zh/00_start_here.ipynb" in readme
