"""Every table the kit shows as HTML escapes its text, through the one helper."""

import ast
from pathlib import Path

from tl_kit.tables import html_table

ROOT = Path(__file__).resolve().parent.parent


def test_cells_and_caption_are_escaped():
    table = html_table(("class", "n"), [("<b>cats</b> & dogs", 3)], caption="a < b")
    assert "<b>cats" not in table and "&lt;b&gt;cats&lt;/b&gt; &amp; dogs" in table
    assert "<caption>a &lt; b</caption>" in table and table.count("<tr>") == 2


def test_no_module_builds_a_table_by_hand():
    for path in (ROOT / "tl_kit").glob("*.py"):
        if path.name != "tables.py":
            assert "<table" not in path.read_text(), f"{path.name} writes <table> itself: use tl_kit.tables.html_table"


def test_the_kits_exceptions_all_live_in_errors_py():
    for path in (ROOT / "tl_kit").glob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
                assert not any(b.endswith(("Error", "Exception", "Warning")) for b in bases), \
                    f"{path.name} defines {node.name}: the kit's exceptions and warnings belong in tl_kit/errors.py"


def test_the_readme_module_map_names_every_module():
    import re

    readme = (ROOT / "docs" / "design.md").read_text()
    start = readme.index("| module | holds |")
    rows = []
    for line in readme[start:].splitlines()[2:]:  # the table: its lines up to the first that is not a row
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1])
    mapped = set(re.findall(r"`(\w+)`", "\n".join(rows)))
    modules = {p.stem for p in (ROOT / "tl_kit").glob("*.py")} - {"__init__", "__main__", "errors"}
    assert modules - mapped == set(), f"modules missing from docs/design.md's module map: {sorted(modules - mapped)}"
    assert mapped - modules == set(), f"the module map names modules that do not exist: {sorted(mapped - modules)}"
    assert "`errors.py`" in readme[start:]
