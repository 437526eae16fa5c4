"""Numbers as Japanese readers expect them: yen with thousands separators, 万円/億円 for large sums."""

from __future__ import annotations

from datetime import date as _date


def yen(n: float, lang: str) -> str:
    """The exact figure, for tables: 1,098,210,000円 / ¥1,098,210,000."""
    v = round(n)
    return f"{v:,}円" if lang == "ja" else (f"-¥{-v:,}" if v < 0 else f"¥{v:,}")


def yen_short(n: float, lang: str) -> str:
    """A rounded figure for headlines and chart labels: 10.98億円, 1,098万円 / ¥1.10 bn, ¥10.98 M."""
    sign = "-" if n < 0 else ""
    a = abs(n)
    if lang == "ja":
        if a >= 1e8:
            return f"{sign}{a / 1e8:,.2f}億円"
        if a >= 1e4:
            return f"{sign}{a / 1e4:,.0f}万円"
        return f"{sign}{a:,.0f}円"
    if a >= 1e9:
        return f"{sign}¥{a / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"{sign}¥{a / 1e6:,.1f} M"
    return f"{sign}¥{a:,.0f}"


def num(n: float, digits: int = 0) -> str:
    return f"{n:,.{digits}f}"


def pct(n: float, digits: int = 1) -> str:
    return f"{n:.{digits}f}%"


def fy(year: int, lang: str) -> str:
    """Fiscal years in the Western calendar (西暦), as the brief asks: 2026年度 / FY2026."""
    return f"{year}年度" if lang == "ja" else f"FY{year}"


def date(d: _date, lang: str) -> str:
    return f"{d.year}年{d.month}月{d.day}日" if lang == "ja" else d.isoformat()
