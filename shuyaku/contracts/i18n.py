"""Language choice for what municipal users read: Japanese by default, English on request."""

from __future__ import annotations

import os

_lang: str | None = None


def set_lang(lang: str | None) -> None:
    global _lang
    _lang = lang


def lang() -> str:
    chosen = _lang or os.environ.get("SHUYAKU_LANG", "ja")
    return "en" if chosen.lower().startswith("en") else "ja"


def t(ja: str, en: str) -> str:
    """Pick the user's language; both texts are always written so English is never an afterthought."""
    return en if lang() == "en" else ja
