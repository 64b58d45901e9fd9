"""The editable layer table's columns: how a cell is read into a layer setting, and shown back.

A :class:`Column` is shared by every layer kind that uses it (the kinds in
:mod:`core.calculator.kinds` say which of their keys sits in which column). Sizes are typed as
text so "3" and "3x5" (a rectangular kernel) both fit. Every message names the layer and the
column, and quotes at most 40 characters of what was typed.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from core.calculator.validation import MAX_SIZE, shown_number
from core.query_state import shown

# "3", "3x5", "3×5", "(3, 5)"; input shapes also "200, 300, 3" or "200x300x3".
SEPARATOR = r"\s*[x×,]\s*"
_PAIR_PATTERN = re.compile(rf"\(?\s*(\d+)(?:{SEPARATOR}(\d+))?\s*\)?")
# A size has at most this many digits (leading zeros aside); longer text is refused before int(),
# which is slow on long digit strings and refuses more than 4,300 digits outright.
_MAX_DIGITS = len(str(MAX_SIZE))


class Blank(Enum):
    """What an empty cell means when the column has no default value."""

    REQUIRED = "required"  # an error: the kind cannot do without it
    OMITTED = "omitted"  # the key is left out, so the kind's own rule applies (a pool's stride is its size)


@dataclass(frozen=True)
class Editor:
    """How the page's table edits a column: a plain description the page turns into a Streamlit column."""

    widget: Literal["number", "text", "checkbox"]
    min_value: float | None = None
    max_value: float | None = None
    step: float | None = None
    number_format: str | None = None
    max_chars: int | None = None


@dataclass(frozen=True)
class Column:
    """One column of the layer table: its header, how a cell is read, and what a blank cell means."""

    header: str
    parse: Callable[[Any, Column, str], Any]  # (non-blank cell, this column, layer label) -> setting
    editor: Editor
    help: str
    accepted: str = "a whole number"  # what the column takes, for messages ("{max}" is MAX_SIZE)
    when_blank: Any = Blank.REQUIRED  # a Blank, or the default setting itself
    show: Callable[[Any], Any] = lambda value: value  # setting -> cell

    @property
    def accepted_text(self) -> str:
        """What the column takes, with the calculator's limit filled in."""
        return self.accepted.format(max=f"{MAX_SIZE:,}")

    def read(self, cell: Any, label: str) -> Any:
        """The setting in ``cell`` (``Blank.OMITTED`` when the key is to be left out)."""
        value = blank_to_none(cell)
        if value is None:
            if self.when_blank is Blank.REQUIRED:
                raise ValueError(f"{label}: fill in '{self.header}', {self.accepted_text}")
            return self.when_blank
        return self.parse(value, self, label)

    def cell(self, setting: Any) -> Any:
        """The cell showing ``setting`` (a missing setting shows the column's default, or stays blank)."""
        if setting is None and not isinstance(self.when_blank, Blank):
            setting = self.when_blank
        return None if setting is None else self.show(setting)


# --- parsers: (non-blank cell, column, layer label) -> setting ----------------------------------


def whole_number(value: Any, column: Column, label: str) -> int:
    """A whole number typed as text ("32") or held as a number (32 or 32.0)."""
    if isinstance(value, str):
        text = value.strip()
        # isdecimal, not isdigit: "³" is a digit to Python but int() refuses it.
        if text.isdecimal():
            return bounded_int(text, column.header, label)
    else:
        number = _number_cell(value, column.header, label)
        if number is not None:
            return number
    raise ValueError(f"{label}: '{column.header}' must be {column.accepted_text}; got {quoted(value)}")


def size_or_pair(value: Any, column: Column, label: str) -> int | tuple[int, int]:
    """A size ("3") or an (h, w) pair ("3x5", "3×5", "(3, 5)")."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return whole_number(value, column, label)
    match = _PAIR_PATTERN.fullmatch(str(value).strip().lower())
    if match:
        first, second = match.groups()
        if second is None:
            return bounded_int(first, column.header, label)
        return bounded_int(first, column.header, label), bounded_int(second, column.header, label)
    raise ValueError(f"{label}: '{column.header}' must be {column.accepted_text}; got {quoted(value)}")


def padding_cell(value: Any, column: Column, label: str) -> str | int:
    """'same', 'valid' or a whole number of pixels (the kind decides whether it takes numbers)."""
    number = _number_cell(value, column.header, label)
    if number is not None:
        return number
    text = str(value).strip().lower()
    if text in ("same", "valid"):
        return text
    if text.isdecimal():
        return bounded_int(text, column.header, label)
    raise ValueError(
        f"{label}: padding must be 'same', 'valid' or a whole number of pixels from 0 to {MAX_SIZE:,}; got {quoted(value)}"
    )


def fraction(value: Any, column: Column, label: str) -> float:
    """A number such as a dropout rate; the kind checks its range."""
    try:
        # The column is numeric in the browser, but a table set through the session (or a
        # future text column) may hold "half" or "50%"; a huge int overflows float().
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(
            f"{label}: '{column.header}' must be {column.accepted_text}; got {quoted(value)}"
        ) from None


def checked(value: Any, column: Column, label: str) -> bool:
    """A checkbox cell."""
    return bool(value)


def pair_text(value: Any) -> str:
    """A size or an (h, w) pair as the table shows it: ``3`` or ``3x5``."""
    return f"{value[0]}x{value[1]}" if isinstance(value, (tuple, list)) else str(value)


# --- helpers ------------------------------------------------------------------------------------


def blank_to_none(value: Any) -> Any:
    """``None`` for an empty cell (None, blank text or NaN), else the value itself."""
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _number_cell(value: Any, header: str, label: str) -> int | None:
    """A numeric cell holding a whole number (``3`` or ``3.0``) as an int, else None.

    A huge value is refused before ``int()`` or ``float()``: both are slow or fail on it.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral):
        if value > MAX_SIZE:
            raise _too_big(header, label, value)
        return int(value)
    if not (math.isfinite(value) and float(value).is_integer()):
        return None
    if value > MAX_SIZE:
        raise _too_big(header, label, value)
    return int(value)


def bounded_int(digits: str, header: str, label: str) -> int:
    """``int(digits)`` for a string of decimal digits, refusing a size past ``MAX_SIZE`` before converting."""
    if too_long(digits):
        raise _too_big(header, label, digits)
    number = int(digits)
    if number > MAX_SIZE:
        raise _too_big(header, label, digits)
    return number


def too_long(digits: str) -> bool:
    """More digits than any size the calculator takes (leading zeros aside)."""
    return len(digits.lstrip("0")) > _MAX_DIGITS


def _too_big(header: str, label: str, value: Any) -> ValueError:
    return ValueError(f"{label}: '{header}' must be at most {MAX_SIZE:,}, the calculator's limit; got {quoted(value)}")


def quoted(value: Any) -> str:
    """A cell's value for a message: quoted when text, at most 40 characters, no Markdown code marks."""
    return repr(shown(value)) if isinstance(value, str) else shown_number(value)
