"""The cells of a confusion matrix as things to open: which test examples fall in one cell, and which cell a click chose.

A page shows a confusion matrix, a student clicks a cell (or picks it from a list) and sees that
cell's test examples. Everything here is plain numpy: the page turns it into widgets and pictures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ConfusionCell:
    """One (true class, predicted class) cell and how many test examples fall in it."""

    true_class: int
    predicted_class: int
    count: int

    @property
    def correct(self) -> bool:
        """True on the diagonal: the examples of this cell were classified correctly."""
        return self.true_class == self.predicted_class

    @property
    def classes(self) -> tuple[int, int]:
        """``(true class, predicted class)``, the cell's identity (its count depends on the model)."""
        return (self.true_class, self.predicted_class)

    def label(self, class_names: Sequence[str]) -> str:
        """How a list of cells names it: ``true 3 → predicted 5 (12 examples)``."""
        examples = f"{self.count} example{'' if self.count == 1 else 's'}"
        verdict = "correct, " if self.correct else ""
        return f"true {class_names[self.true_class]} → predicted {class_names[self.predicted_class]} ({verdict}{examples})"


def _labels(y_true: Any, y_pred: Any, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Both label arrays as 1-D int64 of one length with classes in ``range(num_classes)``, or one clear ValueError."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive whole number, got {num_classes!r}")
    arrays = []
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        array = np.asarray(values)
        if array.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array of class indices, got shape {array.shape}")
        if array.size and (array.dtype.kind not in "iub" or array.min() < 0 or array.max() >= num_classes):
            raise ValueError(f"{name} must hold whole class indices from 0 to {num_classes - 1}")
        arrays.append(array.astype(np.int64))
    if len(arrays[0]) != len(arrays[1]):
        raise ValueError(f"y_true and y_pred must have one label per test example, got {len(arrays[0])} and {len(arrays[1])}")
    return arrays[0], arrays[1]


def cell_indices(y_true: Any, y_pred: Any, true_class: int, predicted_class: int, *, num_classes: int) -> np.ndarray:
    """The test indices, in test-set order, whose true class is ``true_class`` and prediction ``predicted_class``."""
    y_true, y_pred = _labels(y_true, y_pred, num_classes)
    for name, value in (("true_class", true_class), ("predicted_class", predicted_class)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < num_classes:
            raise ValueError(f"{name} must be a class index from 0 to {num_classes - 1}, got {value!r}")
    return np.flatnonzero((y_true == true_class) & (y_pred == predicted_class))


def confusion_cells(y_true: Any, y_pred: Any, *, num_classes: int, include_empty: bool = False) -> list[ConfusionCell]:
    """The matrix's cells, misclassified first, then correct ones, each group largest first.

    Ties keep row-major order. Empty cells come last, only when ``include_empty`` (a drawn matrix
    can be clicked on one, so the list must be able to name it too).
    """
    y_true, y_pred = _labels(y_true, y_pred, num_classes)
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    cells = [ConfusionCell(t, p, int(counts[t, p])) for t in range(num_classes) for p in range(num_classes)]
    filled = [cell for cell in cells if cell.count]
    ordered = sorted(filled, key=lambda cell: (cell.correct, -cell.count))  # sorted() is stable: ties stay row-major
    return ordered + ([cell for cell in cells if not cell.count] if include_empty else [])


def selected_cell(
    points: Any, class_names: Sequence[str], models: Sequence[str] = ()
) -> tuple[str | None, int, int] | None:
    """The ``(model, true class, predicted class)`` a click on a confusion chart chose, or ``None``.

    ``points`` is what Streamlit reports for the chart's point selection: a list of the clicked
    marks' ``true``/``predicted`` (and ``model``) values, or Vega-Lite's field → values form. The
    model is ``None`` when the chart does not say or names a model not in ``models``.
    """
    if isinstance(points, Mapping):
        columns = {name: values if isinstance(values, (list, tuple)) else [values] for name, values in points.items() if name in ("model", "true", "predicted")}
        points = [{name: values[0] for name, values in columns.items() if values}] if columns else []
    if not isinstance(points, (list, tuple)) or not points or not isinstance(points[-1], Mapping):
        return None
    point = points[-1]  # a shift-click adds to the selection; the last one is what was just clicked
    names = [str(name) for name in class_names]
    true_name, predicted_name = str(point.get("true")), str(point.get("predicted"))
    if true_name not in names or predicted_name not in names:
        return None
    model = point.get("model")
    return (model if model in models else None), names.index(true_name), names.index(predicted_name)
