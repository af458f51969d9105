"""The Chinese lessons, built from the English ones through gettext message catalogs.

The English notebooks in `notebooks/` are the one source. What a learner reads in them (each
markdown cell, each comment in a code cell) is extracted into one standard catalog per lesson,
`notebooks/locale/zh_CN/LC_MESSAGES/<lesson>.po`, which translators edit (Poedit and Weblate read
it); `build` writes `notebooks/zh/<lesson>.ipynb` with the same code cells, the comments and
markdown translated, and the first `tl_kit.start()` asking for Chinese. The kit's own sentences
have a catalog of their own (`tl_kit/locale/`, see `tl_kit.i18n`), extracted from its `_()` calls.

    python -m tl_kit translate update   # after editing an English lesson: catalogs follow, changes marked fuzzy
    python -m tl_kit translate build    # write notebooks/zh/ (refuses while a translation is missing)

Each message's context is its cell's id, so an English cell that changed (or is new) shows up as
a message with no current translation, named by its cell: `stale` lists them, a test fails on
them, and `build` refuses to write a lesson with any. The zh notebooks are never edited by hand:
a test rebuilds them and compares.
"""

from __future__ import annotations

import io
import json
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

from .errors import NotebookError
from .exercises import BEGIN, END, SOLUTION_BEGIN, SOLUTION_END
from .i18n import DOMAIN, LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
LANGUAGE = "zh_CN"
#: Where each language's built lessons go, beside the English ones.
OUTPUT = {"zh_CN": "zh"}
_MARKERS = re.compile(r"^(NBVAL_\w+|noqa\b|type:|fmt:|pragma\b|" + "|".join(
    re.escape(m.lstrip("# ")) for m in (BEGIN, END, SOLUTION_BEGIN, SOLUTION_END)) + ")")
_START = "tl_kit.start("


@dataclass(frozen=True)
class Message:
    """One text of a lesson to translate: a whole markdown cell, or a comment (a run of comment lines)."""

    cell: str  # the cell's id: the message's context
    kind: str  # "markdown" or "comment"
    text: str


@dataclass(frozen=True)
class _Comment:
    first_line: int  # 0-based line of the cell
    last_line: int
    column: int
    inline: bool
    text: str  # the lines' text without "# ", joined by newlines


def lesson_catalog_path(lesson: str | Path, language: str = LANGUAGE, locale_dir: Path | None = None) -> Path:
    """Where the catalog of `lesson` (a notebook path or stem) lives."""
    return (locale_dir or NOTEBOOKS / "locale") / language / "LC_MESSAGES" / f"{Path(lesson).stem}.po"


def built_path(lesson: str | Path, language: str = LANGUAGE) -> Path:
    """Where the built lesson goes: `notebooks/zh/<lesson>.ipynb` for Chinese."""
    lesson = Path(lesson)
    return lesson.parent / OUTPUT[language] / lesson.name


def python_tokens(source: str) -> list[tokenize.TokenInfo]:
    """Python's tokens of a code cell, line for line, IPython's `!` and `%` lines read as `pass`."""
    lines = source.splitlines()
    plain = "\n".join(re.sub(r"^(\s*)[!%].*$", lambda m: m.group(1) + "pass", line) for line in lines) + "\n"
    return list(tokenize.generate_tokens(io.StringIO(plain).readline))


def _code_comments(source: str) -> list[_Comment]:
    """The comments of a code cell a learner reads, a run of full-line comments taken as one.

    IPython's `!` and `%` lines are blanked before Python's tokenizer reads the cell.
    """
    lines = source.splitlines()
    found: list[_Comment] = []
    try:
        tokens = python_tokens(source)
    except (tokenize.TokenError, SyntaxError, IndentationError) as err:
        raise NotebookError(f"Could not read the comments of a code cell ({err}):\n{source[:200]}") from err
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        line, column = token.start[0] - 1, token.start[1]
        text = re.sub(r"^#+ ?", "", token.string).rstrip()
        if not re.search(r"[A-Za-z]", text) or _MARKERS.match(text):
            continue
        inline = bool(lines[line][:column].strip())
        previous = found[-1] if found else None
        if (not inline and previous and not previous.inline and previous.last_line == line - 1
                and previous.column == column):
            found[-1] = _Comment(previous.first_line, line, column, False, previous.text + "\n" + text)
        else:
            found.append(_Comment(line, line, column, inline, text))
    return found


def messages(notebook: str | Path) -> list[Message]:
    """Every text of `notebook` a learner reads, in order: markdown cells and code comments."""
    nb = _read(notebook)
    found: list[Message] = []
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if "id" not in cell:
            raise NotebookError(f"{Path(notebook).name}: a cell has no id (nbformat 4.5 gives every cell one); "
                                "open and save the notebook in JupyterLab to add them.")
        if cell["cell_type"] == "markdown" and source.strip():
            found.append(Message(cell["id"], "markdown", source))
        elif cell["cell_type"] == "code":
            seen = set()
            for comment in _code_comments(source):
                if comment.text not in seen:
                    seen.add(comment.text)
                    found.append(Message(cell["id"], "comment", comment.text))
    return found


def template(notebook: str | Path):
    """A Babel catalog template (.pot) of `notebook`'s messages, each in the context of its cell."""
    from babel.messages.catalog import Catalog

    notebook = Path(notebook)
    pot = Catalog(project=f"tl-kit {notebook.stem}", domain=notebook.stem, charset="utf-8",
                  header_comment=f"# The texts of the lesson {notebook.name}; the English is the source (tl_kit/translate.py).")
    for message in messages(notebook):
        entry = pot.add(message.text, context=message.cell, locations=[(notebook.name, 0)],
                        auto_comments=[f"{message.kind} in cell {message.cell}"])
        entry.flags.clear()  # Babel guesses a Python format from braces; a lesson's text is not one (LaTeX, code)
    return pot


def _read_po(path: Path, language: str):
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        return read_po(f, locale=language)


def _write_po(catalog, path: Path) -> None:
    from babel.messages.pofile import write_po

    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, include_previous=True, sort_output=False)
    path.write_bytes(buffer.getvalue())


def update_catalog(pot, path: Path, language: str = LANGUAGE) -> Path:
    """Bring the catalog at `path` in step with the template: new messages added untranslated,
    changed ones kept as fuzzy (with the English they translated, for the translator), gone ones dropped."""
    from babel.messages.catalog import Catalog

    if path.is_file():
        catalog = _read_po(path, language)
        catalog.update(pot, no_fuzzy_matching=False, update_header_comment=True)
        catalog.obsolete.clear()
    else:
        catalog = Catalog(locale=language, domain=pot.domain, project=pot.project, charset="utf-8",
                          header_comment=pot.header_comment)
        catalog.update(pot)
    _write_po(catalog, path)
    return path


def update(notebook: str | Path, language: str = LANGUAGE, locale_dir: Path | None = None) -> Path:
    """Refresh `notebook`'s catalog from the English; its path."""
    return update_catalog(template(notebook), lesson_catalog_path(notebook, language, locale_dir), language)


def kit_template():
    """A template of the kit's own sentences: its `_("...")`, `N_("...")` and `figure_text("...")` calls."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    pot = Catalog(project="tl-kit", domain=DOMAIN, charset="utf-8",
                  header_comment="# The kit's own sentences (tl_kit/i18n.py); extracted from its _() calls.")
    package = Path(__file__).resolve().parent
    keywords = {"_": None, "N_": None, "figure_text": None}
    for filename, lineno, message, comments, context in extract_from_dir(
            package, method_map=[("**.py", "python")], keywords=keywords, comment_tags=("TRANSLATORS:",)):
        pot.add(message, locations=[(f"tl_kit/{filename}", lineno)], auto_comments=comments, context=context)
    return pot


def update_kit(language: str = LANGUAGE) -> Path:
    """Refresh the kit's own catalog from its code (`kit_template`)."""
    return update_catalog(kit_template(), LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po", language)


@dataclass(frozen=True)
class Stale:
    """An English text with no current translation."""

    lesson: str
    message: Message
    why: str  # "new" (never translated) or "changed" (the English moved on: fuzzy or a different text)

    def __str__(self) -> str:
        first = self.message.text.strip().splitlines()[0][:80]
        return f"{self.lesson}, cell {self.message.cell} ({self.message.kind}, {self.why}): {first!r}"


def stale(notebook: str | Path, language: str = LANGUAGE, locale_dir: Path | None = None) -> list[Stale]:
    """The texts of `notebook` whose translation is missing or out of date."""
    path = lesson_catalog_path(notebook, language, locale_dir)
    return _stale(Path(notebook), _read_po(path, language) if path.is_file() else None)


def _stale(notebook: Path, catalog) -> list[Stale]:
    translated_cells = {m.context for m in catalog if m.id} if catalog is not None else set()
    found = []
    for message in messages(notebook):
        entry = catalog.get(message.text, context=message.cell) if catalog is not None else None
        if entry is None or not entry.string:
            changed = entry is None and message.cell in translated_cells
            found.append(Stale(notebook.name, message, "changed" if changed else "new"))
        elif entry.fuzzy:
            found.append(Stale(notebook.name, message, "changed"))
    return found


def _translate_comments(source: str, cell: str, lookup) -> str:
    lines = source.splitlines(keepends=True)
    for comment in reversed(_code_comments(source)):
        translated = lookup(comment.text, cell)
        first = lines[comment.first_line]
        ending = "\n" if first.endswith("\n") else ""
        if comment.inline:
            code = first[:comment.column]
            lines[comment.first_line] = f"{code}# {translated}{ending}" if "\n" not in translated else first
        else:
            last_ending = "\n" if lines[comment.last_line].endswith("\n") else ""
            indent = " " * comment.column
            new = "\n".join(f"{indent}# {line}".rstrip() for line in translated.split("\n")) + last_ending
            lines[comment.first_line:comment.last_line + 1] = [new]
    return "".join(lines)


def build(notebook: str | Path, language: str = LANGUAGE, locale_dir: Path | None = None,
          output: Path | None = None) -> Path:
    """Write the lesson in `language` (default `notebooks/zh/<lesson>.ipynb`); its path.

    Raises NotebookError naming each cell whose text has no current translation: run
    `python -m tl_kit translate update`, translate what it marks, and build again.
    """
    notebook = Path(notebook)
    path = lesson_catalog_path(notebook, language, locale_dir)
    catalog = _read_po(path, language) if path.is_file() else None
    missing = _stale(notebook, catalog)
    if missing:
        raise NotebookError(f"{notebook.name}: {len(missing)} text(s) have no current {language} translation; "
                            "translate them in " + str(path) +
                            " (python -m tl_kit translate update marks them):\n  " + "\n  ".join(map(str, missing)))

    def lookup(text: str, cell: str) -> str:
        return catalog.get(text, context=cell).string

    nb = _read(notebook)
    started = False
    for cell in nb["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and source.strip():
            source = lookup(source, cell["id"])
        elif cell["cell_type"] == "code":
            source = _translate_comments(source, cell["id"], lookup)
            if not started and _START + ")" in source:
                source, started = source.replace(_START + ")", f'{_START}language="{language}")', 1), True
        cell["source"] = source.splitlines(keepends=True)
    if not started:
        raise NotebookError(f"{notebook.name} never calls tl_kit.start(): the built lesson could not set its language.")
    nb["metadata"]["tl_kit"] = {"language": language, "built_from": f"../{notebook.name}",
                                "note": "Built by `python -m tl_kit translate build`; edit the English lesson and "
                                        f"{lesson_catalog_path(notebook, language).relative_to(ROOT)} instead."}
    output = output or built_path(notebook, language)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return output


def lessons() -> list[Path]:
    """The English lessons, in order."""
    return sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))


def _read(notebook: str | Path) -> dict:
    return json.loads(Path(notebook).read_text(encoding="utf-8"))
