"""The calculator's editable layer table: layer dicts to flat table rows and back, with clear errors.

One row per layer; the columns are shared by all layer types, and a column a type does not use
is left blank. Sizes are typed as text so "3" and "3x5" (a rectangular kernel) both fit.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.calculator import LAYER_TYPES, MAX_SIZE, shown_number
from core.query_state import shown

COLUMNS: tuple[str, ...] = ("type", "filters / units", "kernel / pool", "stride", "padding", "bias", "dropout rate")

# Which table column feeds which layer key, per type.
_SIZE_KEY = {"conv2d": "filters", "dense": "units"}
_WINDOW_KEY = {"conv2d": "kernel", "maxpool2d": "pool", "avgpool2d": "pool"}
_HAS_STRIDE = ("conv2d", "maxpool2d", "avgpool2d")
_HAS_BIAS = ("conv2d", "dense")
# "3", "3x5", "3×5", "(3, 5)"; input shapes also "200, 300, 3" or "200x300x3".
_SEPARATOR = r"\s*[x×,]\s*"
_PAIR_PATTERN = re.compile(rf"\(?\s*(\d+)(?:{_SEPARATOR}(\d+))?\s*\)?")
_SHAPE_PATTERN = re.compile(rf"\(?\s*(\d+)(?:{_SEPARATOR}(\d+){_SEPARATOR}(\d+))?\s*,?\s*\)?")
# A size has at most this many digits (leading zeros aside); longer text is refused before int(),
# which is slow on long digit strings and refuses more than 4,300 digits outright.
_MAX_DIGITS = len(str(MAX_SIZE))
_ACCEPTED = {
    "filters / units": "a whole number from 1 to {max}, e.g. 32",
    "kernel / pool": "a whole number or a pair like 3x5, each from 1 to {max}",
    "stride": "blank, a whole number or a pair like 1x2, each from 1 to {max}",
}


def rows_from_layers(layers: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Table rows for a layer list (blank cells where a type has no such setting)."""
    rows = []
    for layer in layers:
        kind = layer["type"]
        row: dict[str, Any] = {column: None for column in COLUMNS}
        row["type"] = kind
        if kind in _SIZE_KEY:
            row["filters / units"] = layer[_SIZE_KEY[kind]]
        if kind in _WINDOW_KEY:
            row["kernel / pool"] = _pair_text(layer[_WINDOW_KEY[kind]])
        if kind in _HAS_STRIDE and layer.get("stride") is not None:
            row["stride"] = _pair_text(layer["stride"])
        if kind in _HAS_STRIDE:
            row["padding"] = str(layer.get("padding", "valid"))
        if kind in _HAS_BIAS:
            row["bias"] = bool(layer.get("use_bias", True))
        if kind == "dropout":
            row["dropout rate"] = layer["rate"]
        rows.append(row)
    return rows


def layers_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Layer dicts for ``core.calculator.analyze`` from table rows; rows without a type are skipped.

    Raises ``ValueError`` naming the layer and the cell to fix.
    """
    layers = []
    for row in rows:
        kind = _blank_to_none(row.get("type"))
        if kind is None:
            continue
        label = f"layer {len(layers) + 1} ({kind})"
        if kind not in LAYER_TYPES:
            raise ValueError(f"layer {len(layers) + 1}: unknown type {_quoted(kind)}; choose one of {', '.join(LAYER_TYPES)}")
        layer: dict[str, Any] = {"type": kind}
        if kind in _SIZE_KEY:
            layer[_SIZE_KEY[kind]] = _whole_number(row.get("filters / units"), "filters / units", label)
        if kind in _WINDOW_KEY:
            layer[_WINDOW_KEY[kind]] = _parse_pair(row.get("kernel / pool"), "kernel / pool", label)
        if kind in _HAS_STRIDE:
            stride = _parse_pair(row.get("stride"), "stride", label, required=False)
            if stride is not None:
                layer["stride"] = stride
            layer["padding"] = _parse_padding(row.get("padding"), label)
        if kind in _HAS_BIAS:
            bias = _blank_to_none(row.get("bias"))
            layer["use_bias"] = True if bias is None else bool(bias)
        if kind == "dropout":
            layer["rate"] = _parse_rate(row.get("dropout rate"), label)
        layers.append(layer)
    return layers


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``"200, 300, 3"`` or ``"200x300x3"`` → ``(200, 300, 3)``; ``"784"`` → ``(784,)``."""
    match = _SHAPE_PATTERN.fullmatch(str(text).strip().lower())
    parts = [part for part in match.groups() if part is not None] if match else []
    if len(parts) not in (1, 3):
        raise ValueError(
            f"input shape must be three whole numbers H, W, C (e.g. 200, 300, 3) or one number N; got {_quoted(text)}"
        )
    if any(_too_long(part) for part in parts):
        raise ValueError(f"input shape sizes must be at most {MAX_SIZE:,} each, the calculator's limit; got {_quoted(text)}")
    shape = tuple(int(part) for part in parts)
    if min(shape) < 1:
        raise ValueError(f"input shape sizes must be at least 1; got {_quoted(text)}")
    if max(shape) > MAX_SIZE:
        raise ValueError(f"input shape sizes must be at most {MAX_SIZE:,} each, the calculator's limit; got {_quoted(text)}")
    return shape


def _blank_to_none(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _whole_number(value: Any, column: str, label: str) -> int:
    value = _blank_to_none(value)
    if value is None:
        raise ValueError(f"{label}: fill in '{column}', {_accepted(column)}")
    if isinstance(value, str):
        text = value.strip()
        # isdecimal, not isdigit: "³" is a digit to Python but int() refuses it.
        if text.isdecimal():
            return _bounded_int(text, column, label)
    else:
        number = _number_cell(value, column, label)
        if number is not None:
            return number
    raise ValueError(f"{label}: '{column}' must be {_accepted(column)}; got {_quoted(value)}")


def _number_cell(value: Any, column: str, label: str) -> int | None:
    """A numeric cell holding a whole number (``3`` or ``3.0``) as an int, else None.

    A huge value is refused before ``int()`` or ``float()``: both are slow or fail on it.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral):
        if value > MAX_SIZE:
            raise _too_big(column, label, value)
        return int(value)
    if not (math.isfinite(value) and float(value).is_integer()):
        return None
    if value > MAX_SIZE:
        raise _too_big(column, label, value)
    return int(value)


def _parse_pair(value: Any, column: str, label: str, *, required: bool = True) -> int | tuple[int, int] | None:
    value = _blank_to_none(value)
    if value is None:
        if required:
            raise ValueError(f"{label}: fill in '{column}', {_accepted(column)}")
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return _whole_number(value, column, label)
    match = _PAIR_PATTERN.fullmatch(str(value).strip().lower())
    if match:
        first, second = match.groups()
        if second is None:
            return _bounded_int(first, column, label)
        return _bounded_int(first, column, label), _bounded_int(second, column, label)
    raise ValueError(f"{label}: '{column}' must be {_accepted(column)}; got {_quoted(value)}")


def _parse_padding(value: Any, label: str) -> str | int:
    value = _blank_to_none(value)
    if value is None:
        return "valid"
    number = _number_cell(value, "padding", label)
    if number is not None:
        return number
    text = str(value).strip().lower()
    if text in ("same", "valid"):
        return text
    if text.isdecimal():
        return _bounded_int(text, "padding", label)
    raise ValueError(
        f"{label}: padding must be 'same', 'valid' or a whole number of pixels from 0 to {MAX_SIZE:,}; got {_quoted(value)}"
    )


def _parse_rate(value: Any, label: str) -> float:
    value = _blank_to_none(value)
    if value is None:
        raise ValueError(f"{label}: fill in 'dropout rate', the fraction of values dropped, e.g. 0.5")
    try:
        # The column is numeric in the browser, but a table set through the session (or a
        # future text column) may hold "half" or "50%"; a huge int overflows float().
        return float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(
            f"{label}: 'dropout rate' must be a number from 0 to 0.99, the fraction of values dropped "
            f"(e.g. 0.5); got {_quoted(value)}"
        ) from None


def _bounded_int(digits: str, column: str, label: str) -> int:
    """``int(digits)`` for a string of decimal digits, refusing a size past ``MAX_SIZE`` before converting."""
    if _too_long(digits):
        raise _too_big(column, label, digits)
    number = int(digits)
    if number > MAX_SIZE:
        raise _too_big(column, label, digits)
    return number


def _too_long(digits: str) -> bool:
    return len(digits.lstrip("0")) > _MAX_DIGITS


def _too_big(column: str, label: str, value: Any) -> ValueError:
    return ValueError(f"{label}: '{column}' must be at most {MAX_SIZE:,}, the calculator's limit; got {_quoted(value)}")


def _accepted(column: str) -> str:
    return _ACCEPTED.get(column, "a whole number").format(max=f"{MAX_SIZE:,}")


def _quoted(value: Any) -> str:
    """A cell's value for a message: quoted when text, at most 40 characters, no Markdown code marks."""
    return repr(shown(value)) if isinstance(value, str) else shown_number(value)


def _pair_text(value: Any) -> str:
    return f"{value[0]}x{value[1]}" if isinstance(value, (tuple, list)) else str(value)
