"""Turning URL query values into widget values and back, for shareable links (no Streamlit here).

A link such as ``/cnn_calculator?filters=64&padding=same`` must reopen the same demo, and a
stale or hand-edited link must never break a page. Every parser here takes the raw text of one
query parameter and returns the widget value, or raises ``ValueError`` with a message that says
what was wrong; :func:`read_param` turns that into a value (the default when the text is bad)
plus a problem description that the page shows as a small notice.

``ui.shareable`` wraps these for Streamlit widgets; page code normally never calls them directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})
LIST_SEPARATOR = ","
MAX_SHOWN_CHARS = 40
# repr() of any float is at most 24 characters; a link's number much longer than that is hostile.
MAX_NUMBER_CHARS = 64


@dataclass(frozen=True)
class ParamReading(Generic[T]):
    """The value a widget should start at, and why the link's own value was refused (if it was)."""

    value: T
    problem: str | None = None

    @property
    def ok(self) -> bool:
        """True when the value came from the link, or the link did not mention the parameter."""
        return self.problem is None


def read_param(raw: str | None, parse: Callable[[str], T], default: T) -> ParamReading[T]:
    """Parse one query value; missing gives the default quietly, bad gives the default with a problem."""
    if raw is None:
        return ParamReading(default)
    try:
        return ParamReading(parse(raw))
    except ValueError as error:
        return ParamReading(default, str(error))


def format_value(value: Any) -> str:
    """The query-string text of a widget value: round-trips through the matching parser.

    Floats use ``repr``, the shortest text that reads back to the same float (``0.001``, ``1e-05``),
    so a shared learning rate is exactly the one on screen.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return LIST_SEPARATOR.join(format_value(item) for item in value)
    return str(value)


def shown(raw: str) -> str:
    """A query value made safe and short for a notice: no Markdown code marks, at most 40 characters."""
    text = raw.replace("`", "'").replace("\n", " ")
    return text if len(text) <= MAX_SHOWN_CHARS else text[: MAX_SHOWN_CHARS - 1] + "…"


def parse_bool(raw: str) -> bool:
    """``true/false``, ``1/0``, ``yes/no`` or ``on/off``, in any case."""
    word = raw.strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise ValueError(f"{shown(raw)!r} is not true or false")


def parse_choice(raw: str, options: Sequence[T]) -> T:
    """The option whose text (as :func:`format_value` writes it) equals ``raw``."""
    for option in options:
        if format_value(option) == raw:
            return option
    listed = ", ".join(format_value(option) for option in options[:12])
    more = ", …" if len(options) > 12 else ""
    raise ValueError(f"{shown(raw)!r} is not one of the choices ({listed}{more})")


def parse_choices(raw: str, options: Sequence[T]) -> list[T]:
    """A comma-separated list of options (empty text means none), in the order given, without repeats."""
    if raw.strip() == "":
        return []
    chosen: list[T] = []
    for part in raw.split(LIST_SEPARATOR):
        option = parse_choice(part.strip(), options)
        if option not in chosen:
            chosen.append(option)
    return chosen


def check_list_options(options: Sequence[Any]) -> None:
    """Refuse options that a comma-separated list could not tell apart."""
    for option in options:
        if LIST_SEPARATOR in format_value(option):
            raise ValueError(f"option {format_value(option)!r} contains a comma, so it cannot be shared in a link")


def parse_int(
    raw: str, *, min_value: int | None = None, max_value: int | None = None, step: int | None = None
) -> int:
    """A whole number within ``[min_value, max_value]`` and on the widget's step grid (counted from min)."""
    text = raw.strip()
    # int() is slow on long digit strings and refuses more than 4,300 digits; no widget needs more
    # than a few dozen, so a longer text is answered from its length alone.
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"{shown(raw)!r} is too long for a number ({len(text):,} characters)")
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{shown(raw)!r} is not a whole number") from None
    _check_range(value, min_value, max_value)
    if step is not None and step > 1 and (value - (min_value or 0)) % step:
        raise ValueError(f"{value} is not on the slider's steps of {step} from {min_value or 0}")
    return value


def parse_float(
    raw: str, *, min_value: float | None = None, max_value: float | None = None, step: float | None = None
) -> float:
    """A finite number within ``[min_value, max_value]`` and, when ``step`` is given, on its grid."""
    text = raw.strip()
    if len(text) > MAX_NUMBER_CHARS:
        raise ValueError(f"{shown(raw)!r} is too long for a number ({len(text):,} characters)")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{shown(raw)!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{shown(raw)!r} is not a finite number")
    _check_range(value, min_value, max_value)
    if step:
        steps = (value - (min_value or 0.0)) / step
        # Decimal steps such as 0.1 are inexact in binary, so allow a rounding error's slack.
        if abs(steps - round(steps)) > 1e-6:
            raise ValueError(f"{value} is not on the slider's steps of {step} from {min_value or 0}")
    return value


def _check_range(value: float, min_value: float | None, max_value: float | None) -> None:
    if min_value is not None and value < min_value:
        raise ValueError(f"{value} is below the minimum {min_value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{value} is above the maximum {max_value}")


def notice_text(key: str, raw: str, problem: str, default: Any) -> str:
    """The notice a page shows when a link's value was refused: which parameter, why, what was used."""
    return (
        f"The link's `{key}={shown(raw)}` was ignored: {problem}. "
        f"Using the default `{shown(format_value(default))}` instead."
    )
