"""Typed read-outs for the IVR's ``say`` and ``confirm`` nodes (pure: text in, text out).

A text may name call values with a type: ``"Your balance is {checking_balance:amount:EUR}."``

=============  ================================================  ==============================
type           en                                                zh
=============  ================================================  ==============================
amount[:CUR]   one thousand two hundred euros and fifty cents    一千二百欧元五十分
number         one thousand two hundred                          一千二百
date           December 3, 2026 (epoch seconds or ISO date)      2026年12月3日
ending         ending in two two three three                     尾号二二三三
digits         one two three                                     一二三
transactions   a list of {at, amount, text}: one sentence each
text           the value as it is
=============  ================================================  ==============================

:func:`check_template` validates a text at flow-load time; :func:`render` fills it per call.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(?::([A-Z]{3}))?\}")
TYPES = frozenset({"amount", "number", "date", "ending", "digits", "transactions", "text"})
CURRENCIES: dict[str, tuple[tuple[str, str, str, str], tuple[str, str]]] = {
    # code: ((en unit, en units, en cent, en cents), (zh unit, zh cent))
    "EUR": (("euro", "euros", "cent", "cents"), ("欧元", "分")),
    "USD": (("dollar", "dollars", "cent", "cents"), ("美元", "美分")),
    "CNY": (("yuan", "yuan", "fen", "fen"), ("元", "分")),
    "GBP": (("pound", "pounds", "penny", "pence"), ("英镑", "便士")),
}
DEFAULT_CURRENCY = "EUR"
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()  # fmt: skip
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand"))
_ZH_DIGITS = "零一二三四五六七八九"
_MONTHS = ("January February March April May June July August September October November "
           "December").split()  # fmt: skip


class ReadoutError(ValueError):
    """A template that names an unknown type or currency (the loader names the node)."""


def _en_below_thousand(n: int) -> str:
    words = []
    if n >= 100:
        words.append(f"{_ONES[n // 100]} hundred")
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def _en_words(n: int) -> str:
    if n < 0:
        return "minus " + _en_words(-n)
    if n < 1000:
        return _en_below_thousand(n)
    words = []
    for size, name in _SCALES:
        if n >= size:
            words.append(f"{_en_words(n // size)} {name}")
            n %= size
    if n:
        words.append(_en_below_thousand(n))
    return " ".join(words)


def _zh_group(n: int, first: bool) -> str:
    """0-9999 in Chinese; ``first``: nothing came before (``10`` reads 十, not 一十)."""
    out, pending = "", False
    for size, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // size % 10
        if digit == 0:
            pending = pending or bool(out)
            continue
        if pending:
            out, pending = out + "零", False
        if not (unit == "十" and digit == 1 and not out and first):
            out += _ZH_DIGITS[digit]
        out += unit
    return out


def _zh_words(n: int) -> str:
    if n < 0:
        return "负" + _zh_words(-n)
    if n == 0:
        return "零"
    out = ""
    high, rest = divmod(n, 100_000_000)
    if high:
        out = _zh_words(high) + "亿"
    for size, unit in ((10_000, "万"), (1, "")):
        group = rest // size % 10_000
        if group:
            out += ("零" if out and group < 1000 else "") + _zh_group(group, not out) + unit
    return out


def number_words(n: int, language: str) -> str:
    """An integer in words: ``1200`` -> ``one thousand two hundred`` / ``一千二百``."""
    return _zh_words(n) if language == "zh" else _en_words(n)


def amount_words(value: float, currency: str, language: str) -> str:
    """``1200.5, EUR`` -> ``one thousand two hundred euros and fifty cents`` / ``一千二百欧元五十分``."""
    (unit, units, cent, cents), (zh_unit, zh_cent) = CURRENCIES.get(currency, CURRENCIES[DEFAULT_CURRENCY])
    negative = value < 0
    total = round(abs(value) * 100)
    whole, fraction = divmod(total, 100)
    if language == "zh":
        text = f"{_zh_words(whole)}{zh_unit}" + (f"{_zh_words(fraction)}{zh_cent}" if fraction else "")
        return ("负" if negative else "") + text
    text = f"{_en_words(whole)} {unit if whole == 1 else units}"
    if fraction:
        text += f" and {_en_words(fraction)} {cent if fraction == 1 else cents}"
    return ("minus " if negative else "") + text


def digit_words(value: str, language: str) -> str:
    digits = [c for c in str(value) if c.isdigit()]
    if language == "zh":
        return "".join(_ZH_DIGITS[int(c)] for c in digits)
    return " ".join(_ONES[int(c)] for c in digits)


def ending_words(value: str, language: str) -> str:
    """Only the last four digits are ever read out."""
    last = "".join(c for c in str(value) if c.isdigit())[-4:]
    return f"尾号{digit_words(last, 'zh')}" if language == "zh" else f"ending in {digit_words(last, 'en')}"


def date_words(value: Any, language: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        day = dt.datetime.fromtimestamp(value, dt.UTC).date()
    else:
        day = dt.date.fromisoformat(str(value)[:10])
    if language == "zh":
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def transactions_words(items: Any, currency: str, language: str) -> str:
    sentences = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        when, amount, what = date_words(item.get("at", 0), language), amount_words(
            float(item.get("amount", 0)), currency, language), str(item.get("text", ""))  # fmt: skip
        sentences.append(f"{when}，{amount}，{what}。" if language == "zh" else f"{when}, {amount}, {what}.")
    return "".join(sentences) if language == "zh" else " ".join(sentences)


def check_template(text: str) -> list[str]:
    """The names a text reads out; :class:`ReadoutError` for an unknown type or currency."""
    names = []
    for match in PLACEHOLDER.finditer(text):
        name, kind, currency = match.group(1), match.group(2) or "text", match.group(3)
        if kind not in TYPES:
            raise ReadoutError(f"{{{name}:{kind}}}: unknown read-out type (one of {', '.join(sorted(TYPES))})")
        if currency is not None and currency not in CURRENCIES:
            raise ReadoutError(f"{{{name}}}: unknown currency {currency} (one of {', '.join(CURRENCIES)})")
        names.append(name)
    if re.search(r"\{[^}]*$|^[^{]*\}", text):
        raise ReadoutError("unbalanced braces")
    return names


def _value_words(value: Any, kind: str, currency: str, language: str) -> str:
    if kind == "amount":
        return amount_words(float(value), currency, language)
    if kind == "number":
        return number_words(int(float(value)), language)
    if kind == "date":
        return date_words(value, language)
    if kind == "ending":
        return ending_words(str(value), language)
    if kind == "digits":
        return digit_words(str(value), language)
    if kind == "transactions":
        return transactions_words(value, currency, language)
    return str(value)


def render(text: str, values: Mapping[str, Any], language: str) -> str:
    """Fill a checked template; a value that is missing or of the wrong kind reads as nothing
    (the flow's ``fetch`` node already took its ``on_error`` branch for failed fields)."""

    def fill(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2) or "text"
        currency = match.group(3) or str(values.get("currency") or DEFAULT_CURRENCY)
        value = values.get(name)
        if value is None:
            return ""
        try:
            return _value_words(value, kind, currency, language)
        except (TypeError, ValueError, OverflowError):
            return ""

    return PLACEHOLDER.sub(fill, text)
