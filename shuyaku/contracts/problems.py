"""A problem found in a user's file: where it is, what is wrong, how to fix it, in both languages.

Both texts travel with the problem and one is chosen only when it is printed, so a single load can be
shown in Japanese on the terminal and in English in a ticket, and tests assert on the stable `code`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from shuyaku.contracts.i18n import lang, t

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class Text:
    """One message in Japanese and English; `str()` gives the user's language."""

    ja: str
    en: str

    def __str__(self) -> str:
        return self.en if lang() == "en" else self.ja

    def __contains__(self, part: str) -> bool:
        return part in self.ja or part in self.en

    def pick(self, language: str) -> str:
        return self.en if language == "en" else self.ja


def tx(ja: str, en: str) -> Text:
    return Text(ja, en)


def as_text(value: Text | str) -> Text:
    return value if isinstance(value, Text) else Text(value, value)


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: int
    field: str
    message: Text
    fix: Text
    code: str = "general"
    severity: Severity = "error"

    def __post_init__(self) -> None:
        # Callers outside the adapters may still hand plain strings; keep one type inside.
        object.__setattr__(self, "message", as_text(self.message))
        object.__setattr__(self, "fix", as_text(self.fix))

    def render(self, language: str | None = None) -> str:
        language = language or lang()
        where = f"{self.file}:{self.line}:{self.column}"
        fix_label = "fix" if language == "en" else "修正方法"
        return (f"{where}: {self.field}: {self.message.pick(language)} [{self.code}]\n"
                f"    {fix_label}: {self.fix.pick(language)}")

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": str(self.message),
            "fix": str(self.fix),
            "message_ja": self.message.ja,
            "message_en": self.message.en,
            "fix_ja": self.fix.ja,
            "fix_en": self.fix.en,
        }


class ProblemsError(Exception):
    """Raised with every problem found, never just the first one."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.field))
        super().__init__()

    def __str__(self) -> str:
        return "\n".join(p.render() for p in self.problems)

    def render_both(self) -> str:
        """Japanese then English: for output (the engine's) that is pasted into tickets read by others."""
        first = lang()
        order = [first, "en" if first == "ja" else "ja"]
        return "\n\n".join("\n".join(p.render(language) for p in self.problems) for language in order)

    def codes(self) -> list[str]:
        return [p.code for p in self.problems]


def summary(count: int) -> str:
    return t(f"{count} 件の問題があります。修正して再実行してください。",
             f"{count} problem(s) found. Fix them and run again.")
