"""Reading a layer's settings: every size bounded, every message short and naming the layer and the fix.

Layer kinds (:mod:`core.calculator.kinds`) read their keys through these helpers, so a bad
setting gets the same words whichever kind it is on.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from core.query_state import shown

Shape = tuple[int, ...]

# Every size the calculator takes (each input axis, filters, units, kernel, stride, pool, padding)
# is at most this: far past any real layer, and small enough that the arithmetic stays instant.
MAX_SIZE = 10**6
# The tables show every count as a 64-bit integer (pandas and Arrow); past this they cannot.
MAX_COUNT = 2**63 - 1


def positive_int(value: Any, key: str, label: str) -> int:
    """``value`` as a whole number from 1 to :data:`MAX_SIZE`, else a ``ValueError`` naming ``label`` and ``key``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{label}: {key} must be a positive whole number, got {shown_number(value)}")
    if value > MAX_SIZE:
        raise ValueError(f"{label}: {key} must be at most {MAX_SIZE:,}, the calculator's limit; got {shown_number(value)}")
    return int(value)


def pair(value: Any, key: str, label: str) -> tuple[int, int]:
    """An int or an ``(h, w)`` pair as an ``(h, w)`` pair of positive whole numbers."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{label}: {key} must be an int or an (h, w) pair, got {shown_number(value)}")
        return positive_int(value[0], key, label), positive_int(value[1], key, label)
    number = positive_int(value, key, label)
    return number, number


def padding(value: Any, label: str, *, allow_int: bool) -> str | int:
    """``'same'``, ``'valid'`` or (where the kind allows it) a whole number of pixels."""
    if value in ("same", "valid"):
        return value
    if allow_int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{label}: padding must be 'same', 'valid' or a whole number ≥ 0, got {shown_number(value)}")
        if value > MAX_SIZE:
            raise ValueError(f"{label}: padding must be at most {MAX_SIZE:,} pixels, the calculator's limit; got {shown_number(value)}")
        return int(value)
    accepted = "'same', 'valid' or a whole number of pixels" if allow_int else "'same' or 'valid'"
    raise ValueError(f"{label}: padding must be {accepted}, got {shown_number(value)}")


def flag(value: Any, key: str, label: str) -> bool:
    """A setting that must be exactly ``True`` or ``False`` (``1`` or ``"yes"`` are refused)."""
    if not isinstance(value, bool):
        raise ValueError(f"{label}: {key} must be True or False, got {shown_number(value)}")
    return value


def rate(value: Any, label: str) -> float:
    """A dropout rate: the fraction of values dropped, in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{label}: rate must be a number in [0, 1), the fraction of values dropped; got {shown_number(value)}")
    return float(value)


def image_shape(label: str, shape: Shape) -> tuple[int, int, int]:
    """``shape`` as (H, W, C), else a message saying where an image layer belongs."""
    if len(shape) != 3:
        raise ValueError(
            f"{label}: needs an image-shaped (H, W, C) input but gets {shape}; "
            "move it before any flatten, global pooling or dense layer"
        )
    return shape  # type: ignore[return-value]


def check_input_shape(input_shape: Sequence[int]) -> Shape:
    """The network's input as a tuple: (H, W, C) for images or (N,) for vectors, each size bounded."""
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise ValueError(f"input_shape must be (H, W, C) or (N,), got {shown_number(input_shape)}")
    described = shown_number(tuple(input_shape))
    if len(input_shape) not in (1, 3):
        raise ValueError(f"input_shape must be (H, W, C) for images or (N,) for vectors; got {described}")
    for size in input_shape:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"input_shape sizes must be positive whole numbers; got {described}")
        if size > MAX_SIZE:
            raise ValueError(f"input_shape sizes must be at most {MAX_SIZE:,} each, the calculator's limit; got {described}")
    return tuple(int(n) for n in input_shape)


def check_countable(figures: Sequence[tuple[str, int]], who: str, fix: str) -> None:
    """Refuse a count the tables could not hold as a 64-bit integer, naming it and its size."""
    for what, count in figures:
        if count > MAX_COUNT:
            raise ValueError(
                f"{who} would need about {_about(count)} {what}, more than the calculator can show "
                f"(at most about {_about(MAX_COUNT)}); {fix}"
            )


def shown_number(value: Any) -> str:
    """``repr(value)`` cut to 40 characters for a message; a huge whole number is described by its length.

    Python refuses to print an int of more than 4,300 digits (and printing a long one is slow),
    so its digits are counted with a logarithm instead, also inside a tuple or list.
    """
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) >= 10**15:
        return f"a {math.floor(math.log10(abs(value))) + 1:,}-digit number"
    if isinstance(value, (tuple, list)):
        items = [_short_item(item) for item in value[:4]] + (["…"] if len(value) > 4 else [])
        inside = ", ".join(items) + ("," if len(value) == 1 and isinstance(value, tuple) else "")
        return shown("(" + inside + ")" if isinstance(value, tuple) else "[" + inside + "]")
    return shown(repr(value))


def _short_item(value: Any) -> str:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) >= 10**15:
        return shown_number(value)
    return shown(repr(value)) if not isinstance(value, (tuple, list)) else "(…)"


def _about(count: int) -> str:
    """``1e+20``-style magnitude of a positive int, even one too big for a float."""
    if count < 10**300:
        return f"{float(count):.0e}"
    return f"1e+{math.floor(math.log10(count))}"
