"""The kit in Chinese (tl_kit/i18n.py): its catalog, the language setting, figures without missing glyphs."""

import string
import warnings

import matplotlib
import numpy as np
import pytest

from tl_kit import i18n, translate
from tl_kit.errors import OptionError
from tl_kit.i18n import _

matplotlib.use("Agg")


@pytest.fixture
def chinese(monkeypatch):
    monkeypatch.delenv("TL_KIT_LANG", raising=False)
    monkeypatch.setitem(matplotlib.rcParams, "font.family", ["sans-serif"])  # as a new kernel has it
    i18n.set_language("zh_CN")
    yield
    i18n.set_language("en")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _kit_catalog():
    return translate._read_po(i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "tl_kit.po", "zh_CN")


def test_every_sentence_the_kit_marks_has_a_current_chinese_translation():
    template = translate.kit_template()
    catalog = _kit_catalog()
    missing = [m.id for m in template if m.id and (catalog.get(m.id) is None or not catalog.get(m.id).string
                                                  or catalog.get(m.id).fuzzy)]
    assert not missing, f"{len(missing)} kit sentences have no current translation " \
                        f"(python -m tl_kit translate update, then translate them): {missing[:5]}"


def test_each_translation_fills_the_same_placeholders_as_its_english():
    wrong = [(m.id, m.string) for m in _kit_catalog() if m.id and m.string and _fields(m.id) != _fields(m.string)]
    assert not wrong, wrong[:3]


def test_the_lesson_chooses_the_language_and_tl_kit_lang_overrides_it(chinese, monkeypatch):
    assert _("CPU ({cores} cores)").format(cores=2) == "CPU（2核）"
    monkeypatch.setenv("TL_KIT_LANG", "en")
    assert _("CPU ({cores} cores)").format(cores=2) == "CPU (2 cores)"
    monkeypatch.setenv("TL_KIT_LANG", "zh-cn")
    i18n.set_language("en")
    assert i18n.language() == "zh_CN"


def test_an_unknown_language_is_refused_with_the_choices():
    with pytest.raises(OptionError, match="en, zh_CN"):
        i18n.set_language("klingon")


def test_a_fuzzy_translation_is_not_shown(tmp_path):
    po = tmp_path / "tl_kit.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  '#, fuzzy\nmsgid "old"\nmsgstr "旧"\n\nmsgid "new"\nmsgstr "新"\n', encoding="utf-8")
    catalog = i18n.catalog("zh_CN", po)
    assert catalog.gettext("old") == "old" and catalog.gettext("new") == "新"


def _render() -> tuple[list, list[str]]:
    """The figures below, made and drawn, and matplotlib's missing-glyph warnings (layout and drawing both warn)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figures = _figures()
        for fig in figures:
            fig.canvas.draw()
    return figures, [str(w.message) for w in caught if "missing from" in str(w.message)]


def _texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def _figures():
    """Figures whose kit labels are set in different ways: a new axes title, an existing one, axis labels."""
    from tl_kit.plots import plot_confusion, plot_feature_maps, plot_history

    image = np.random.default_rng(0).random((12, 12))
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]}
    return [plot_feature_maps(image, {"edges": image}, {"edges": np.ones((3, 3))}),
            plot_history({"run": history}, before=history),
            plot_confusion(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), ["cat", "dog", "bird"])]


def test_with_a_cjk_font_a_figure_speaks_chinese_and_no_glyph_is_missing(chinese):
    if i18n.cjk_font() is None:
        pytest.skip("no CJK font installed (Debian: apt-get install fonts-noto-cjk)")
    figures, missing = _render()
    assert not missing
    for fig in figures:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in _texts(fig)), _texts(fig)


def test_without_a_cjk_font_a_figure_stays_in_english_and_no_glyph_is_missing(chinese, monkeypatch):
    monkeypatch.setattr(i18n, "cjk_font", lambda: None)
    figures, missing = _render()
    assert not missing
    for fig in figures:
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in _texts(fig)), _texts(fig)
    assert "predicted class" in _texts(figures[-1])
