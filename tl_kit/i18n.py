"""The language the kit speaks: its computed sentences, widget labels and figure labels.

The English lessons are the source; `notebooks/zh/` holds their Simplified Chinese builds
(`tl_kit.translate`), which call `tl_kit.start(language="zh_CN")`. From then on the kit's own
sentences come from the message catalog `tl_kit/locale/zh_CN/LC_MESSAGES/tl_kit.po`, a standard
gettext catalog a translator edits with Poedit or Weblate. `TL_KIT_LANG` overrides the lesson's
choice, e.g. a Chinese class runs the English lessons with `TL_KIT_LANG=zh_CN`, or the reverse.
Error messages stay in English (they are what a learner searches for).

Marking a sentence for translation is wrapping its template in `_()` and filling it after:

    >>> set_language("zh_CN"); _("CPU ({cores} cores)").format(cores=2)
    'CPU（2核）'
    >>> set_language("en"); _("CPU ({cores} cores)").format(cores=2)
    'CPU (2 cores)'

Figure labels go through `figure_text`: translated only where matplotlib has a font with the
glyphs (Debian's `fonts-noto-cjk`, and what docs/configuration.md lists for macOS, Windows and
Colab), else left in English, so a figure never shows boxes for missing characters.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Sequence
from pathlib import Path

from . import config
from .errors import OptionError

#: The languages the kit has catalogs for, and their names in themselves.
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
#: Fonts that carry Simplified Chinese, in the order they are preferred (Linux, macOS, Windows).
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
             "PingFang SC", "Heiti SC", "Hiragino Sans GB", "Microsoft YaHei", "SimHei", "Arial Unicode MS")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "tl_kit"

_chosen = "en"


def normalise(language: str) -> str:
    """The catalog name for `language`, accepting the usual spellings.

    >>> normalise("zh-cn"), normalise("zh"), normalise("EN")
    ('zh_CN', 'zh_CN', 'en')
    """
    key = language.strip().replace("-", "_").lower()
    aliases = {"en": "en", "en_us": "en", "en_gb": "en", "zh": "zh_CN", "zh_cn": "zh_CN", "zh_hans": "zh_CN",
               "zh_hans_cn": "zh_CN"}
    if key not in aliases:
        raise OptionError(f"No translation for the language {language!r}: choose one of {', '.join(LANGUAGES)} "
                          "(in TL_KIT_LANG or start(language=...)).")
    return aliases[key]


def set_language(lang: str) -> None:
    """The lesson's language (`start(language=...)` calls this); `TL_KIT_LANG` still wins.

    In Chinese, a CJK font joins matplotlib's fonts now, before any figure is made: a text object
    (an axes' title, say) takes its font when it is created, not when its text is set.
    """
    global _chosen
    _chosen = normalise(lang)
    if language() != "en":
        _use_cjk_font()


def language() -> str:
    """The language in use: `TL_KIT_LANG` when set, else the lesson's choice, else English."""
    asked = config.language()
    return normalise(asked) if asked else _chosen


@functools.lru_cache(maxsize=None)
def catalog(language: str, path: Path | None = None) -> gettext.NullTranslations:
    """The kit's catalog for `language`, read from its `.po` file (no compiled `.mo` to keep in step).

    Fuzzy entries (a translation whose English has changed since) are left out: their English is shown.
    """
    if language == "en":
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = path or LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with open(path, "rb") as f:
        po = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, po)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def N_(message: str) -> str:
    """Mark `message` for the catalog where it is defined, and translate it where it is shown with `_()`
    (a table of texts at module level is read before any lesson chose its language)."""
    return message


def _(message: str) -> str:
    """`message` in the language in use (itself in English, or where the catalog has no translation)."""
    return catalog(language()).gettext(message)


#: Parts of the file names of the fonts in CJK_FONTS, for fonts installed after matplotlib's font cache was built.
_CJK_FILES = ("notosanscjk", "notosanssc", "sourcehansans", "wqy-", "pingfang", "stheiti", "hiragino", "msyh",
              "simhei", "arial unicode")


def words_list(items: Sequence[str]) -> str:
    """Items as a list in words, in the language in use: 'a', 'a and b', 'a, b and c' ('' for none).

    >>> words_list(["pixels", "random features", "a small CNN"])
    'pixels, random features and a small CNN'
    """
    if not items:
        return ""
    text = items[0]
    for item in items[1:-1]:
        # TRANSLATORS: a list of names being built, "random features, raw pixels"; its last name joins below.
        text = _("{names}, {name}").format(names=text, name=item)
    # TRANSLATORS: the last name of a list joins the others: "random features, raw pixels and a small CNN".
    return text if len(items) == 1 else _("{names} and {last}").format(names=text, last=items[-1])


def comma_list(items: Sequence[str]) -> str:
    """Items separated by the language's list comma: 'a, b, c' ('' for none)."""
    text = ""
    for item in items:
        # TRANSLATORS: a list being built, "sneaker 91.2%, sandal 5.0%" or "12× sandal as sneaker, 3× bag as coat".
        text = _("{names}, {name}").format(names=text, name=item) if text else item
    return text


@functools.lru_cache(maxsize=None)
def cjk_font() -> str | None:
    """The name of an installed font with Simplified Chinese glyphs that matplotlib can use, or None.

    matplotlib lists the system's fonts once and caches the list; a font installed after that
    (`apt-get install fonts-noto-cjk` on a machine that had drawn a figure before) is not in it.
    Such a font is found by its file name and added, so the list need not be rebuilt by hand.
    """
    from matplotlib import font_manager

    def first() -> str | None:
        installed = {font.name for font in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in installed), None)

    found = first()
    if found is None:
        known = {font.fname for font in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in known and any(part in Path(path).name.lower() for part in _CJK_FILES):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read: skip it
                    continue
        found = first()
    return found


def figure_text(message: str) -> str:
    """A figure label in the language in use where a font can draw it, else in English.

    With a Chinese label, the font joins matplotlib's font families after the default ones
    (matplotlib falls back from one to the next glyph by glyph), so Latin letters and digits keep
    their usual look and only the Chinese characters come from it.
    """
    translated = _(message)
    if translated == message or translated.isascii():
        return translated
    return translated if _use_cjk_font() else message


def _use_cjk_font() -> bool:
    """Put the CJK font into matplotlib's font families (after the default ones); False when there is none."""
    font = cjk_font()
    if font is None:
        return False
    import matplotlib

    families = list(matplotlib.rcParams["font.family"])
    if font not in families:
        matplotlib.rcParams["font.family"] = [*families, font]
    return True
