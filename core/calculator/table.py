"""The calculator's editable layer table: layer dicts to flat table rows and back, with clear errors.

One row per layer. The columns are those the layer kinds use (:mod:`core.calculator.kinds`), in
the order the kinds first use them; a column a kind does not use is left blank.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.calculator.columns import (
    SEPARATOR,
    Blank,
    Column,
    blank_to_none,
    quoted,
    too_long,
)
from core.calculator.kinds import KINDS, LAYER_TYPES
from core.calculator.validation import MAX_SIZE

TYPE_COLUMN = "type"
# Each column once, in the order the kinds first use it.
TABLE_COLUMNS: dict[str, Column] = {
    column.header: column for kind in KINDS.values() for column in kind.columns.values()
}
COLUMNS: tuple[str, ...] = (TYPE_COLUMN, *TABLE_COLUMNS)
_SHAPE_PATTERN = re.compile(rf"\(?\s*(\d+)(?:{SEPARATOR}(\d+){SEPARATOR}(\d+))?\s*,?\s*\)?")


def rows_from_layers(layers: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Table rows for a layer list (blank cells where a kind has no such setting)."""
    rows = []
    for layer in layers:
        row: dict[str, Any] = dict.fromkeys(COLUMNS)
        row[TYPE_COLUMN] = layer["type"]
        for key, column in KINDS[layer["type"]].columns.items():
            row[column.header] = column.cell(layer.get(key))
        rows.append(row)
    return rows


def layers_from_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Layer dicts for ``core.calculator.analyze`` from table rows; rows without a type are skipped.

    Raises ``ValueError`` naming the layer and the cell to fix.
    """
    layers = []
    for row in rows:
        kind = blank_to_none(row.get(TYPE_COLUMN))
        if kind is None:
            continue
        if kind not in KINDS:
            raise ValueError(f"layer {len(layers) + 1}: unknown type {quoted(kind)}; choose one of {', '.join(LAYER_TYPES)}")
        label = f"layer {len(layers) + 1} ({kind})"
        layer: dict[str, Any] = {"type": kind}
        for key, column in KINDS[kind].columns.items():
            setting = column.read(row.get(column.header), label)
            if setting is not Blank.OMITTED:
                layer[key] = setting
        layers.append(layer)
    return layers


def column_uses(header: str) -> str:
    """Which kinds use a column, for its help: 'filters for conv2d, separable_conv2d; units for dense'."""
    uses: dict[str, list[str]] = {}
    for kind in KINDS.values():
        for key, column in kind.columns.items():
            if column.header == header:
                uses.setdefault(key, []).append(kind.type)
    return "; ".join(f"{key} for {', '.join(kinds)}" for key, kinds in uses.items())


def parse_input_shape(text: str) -> tuple[int, ...]:
    """``"200, 300, 3"`` or ``"200x300x3"`` → ``(200, 300, 3)``; ``"784"`` → ``(784,)``."""
    match = _SHAPE_PATTERN.fullmatch(str(text).strip().lower())
    parts = [part for part in match.groups() if part is not None] if match else []
    if len(parts) not in (1, 3):
        raise ValueError(
            f"input shape must be three whole numbers H, W, C (e.g. 200, 300, 3) or one number N; got {quoted(text)}"
        )
    if any(too_long(part) for part in parts):
        raise ValueError(f"input shape sizes must be at most {MAX_SIZE:,} each, the calculator's limit; got {quoted(text)}")
    shape = tuple(int(part) for part in parts)
    if min(shape) < 1:
        raise ValueError(f"input shape sizes must be at least 1; got {quoted(text)}")
    if max(shape) > MAX_SIZE:
        raise ValueError(f"input shape sizes must be at most {MAX_SIZE:,} each, the calculator's limit; got {quoted(text)}")
    return shape
