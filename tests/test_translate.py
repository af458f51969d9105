"""The Chinese lessons: built from the English ones and their catalogs, never edited by hand (tl_kit/translate.py)."""

import json
import shutil
import tokenize

import pytest

from tl_kit import translate
from tl_kit.errors import NotebookError

LESSONS = translate.lessons()


def test_comments_are_read_whole_and_markers_are_left_alone():
    source = ("# Colab only: fetch the kit\n# and install it.\nimport sys\n"
              "if x:\n    !pip install -q tl-kit  # not a comment of Python's\n"
              "x = 1  # one image, (H, W)\n# >>> answer\ny = 2\n# <<< answer\n# NBVAL_CHECK_OUTPUT\n"
              "s = '# not a comment'\nz = 3  # noqa: E731\n")
    found = [(c.text, c.inline) for c in translate._code_comments(source)]
    assert found == [("Colab only: fetch the kit\nand install it.", False), ("one image, (H, W)", True)]


def test_a_translation_replaces_only_comments_and_may_change_their_number_of_lines():
    source = "    # two lines\n    # of English\n    x = f(1)  # inline\n"
    zh = {"two lines\nof English": "一行中文", "inline": "行内"}
    assert translate._translate_comments(source, "c", lambda text, cell: zh[text]) == \
        "    # 一行中文\n    x = f(1)  # 行内\n"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_text_of_every_lesson_has_a_current_chinese_translation(lesson):
    missing = translate.stale(lesson)
    assert not missing, (f"{len(missing)} text(s) of {lesson.name} have no current translation: run "
                         "`python -m tl_kit translate update`, translate what it marks in "
                         f"{translate.lesson_catalog_path(lesson)}, then `python -m tl_kit translate build`:\n"
                         + "\n".join(map(str, missing)))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_the_committed_chinese_lesson_is_exactly_what_the_build_writes(lesson, tmp_path):
    built = translate.build(lesson, output=tmp_path / lesson.name)
    committed = translate.built_path(lesson)
    assert committed.is_file(), f"{committed} is missing: run `python -m tl_kit translate build`"
    assert committed.read_text(encoding="utf-8") == built.read_text(encoding="utf-8"), \
        f"{committed} differs from its build: it was edited by hand, or not rebuilt (python -m tl_kit translate build)"


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_a_chinese_lesson_has_the_english_code_and_asks_for_chinese(lesson):
    english = json.loads(lesson.read_text())["cells"]
    chinese = json.loads(translate.built_path(lesson).read_text(encoding="utf-8"))["cells"]
    assert [c["id"] for c in english] == [c["id"] for c in chinese]

    def code(cell):  # the cell without its comments (IPython's ! lines as they are)
        lines = "".join(cell["source"]).splitlines()
        for token in reversed(translate.python_tokens("".join(cell["source"]))):
            if token.type == tokenize.COMMENT:
                row, col = token.start
                lines[row - 1] = lines[row - 1][:col].rstrip()
        return [line for line in lines if line.strip()]

    changed = [c["id"] for c, z in zip(english, chinese) if c["cell_type"] == "code" and code(c) != code(z)]
    assert len(changed) == 1 and 'tl_kit.start(language="zh_CN")' in "".join(
        next(c for c in chinese if c["id"] == changed[0])["source"])


def test_a_planted_english_edit_is_named_by_its_cell_and_the_build_refuses(tmp_path):
    lesson = tmp_path / LESSONS[1].name
    shutil.copy(LESSONS[1], lesson)
    nb = json.loads(lesson.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "markdown" and len(c["source"]) > 2)
    cell["source"][0] = cell["source"][0].rstrip("\n") + " (edited)\n"
    lesson.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
    missing = translate.stale(lesson, locale_dir=translate.NOTEBOOKS / "locale")
    assert [(m.message.cell, m.why) for m in missing] == [(cell["id"], "changed")]
    with pytest.raises(NotebookError, match=f"cell {cell['id']}"):
        translate.build(lesson, output=tmp_path / "zh.ipynb")


def test_updating_a_catalog_keeps_a_changed_text_as_fuzzy_with_its_old_translation(tmp_path):
    lesson = tmp_path / LESSONS[1].name
    shutil.copy(LESSONS[1], lesson)
    locale = tmp_path / "locale"
    shutil.copytree(translate.NOTEBOOKS / "locale", locale)
    nb = json.loads(lesson.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "markdown" and len(c["source"]) > 2)
    before = translate._read_po(translate.lesson_catalog_path(lesson, locale_dir=locale), "zh_CN").get(
        "".join(cell["source"]), context=cell["id"]).string
    cell["source"][0] = cell["source"][0].rstrip("\n") + " (edited)\n"
    lesson.write_text(json.dumps(nb, indent=1, ensure_ascii=False))
    translate.update(lesson, locale_dir=locale)
    entry = translate._read_po(translate.lesson_catalog_path(lesson, locale_dir=locale), "zh_CN").get(
        "".join(cell["source"]), context=cell["id"])
    assert entry.fuzzy and entry.string == before  # the translator starts from the old translation
    assert [m.why for m in translate.stale(lesson, locale_dir=locale)] == ["changed"]
