"""One confusion-matrix section for every training page: click a cell (or pick it from a list) to see its test examples.

The list of cells is the single source of truth; a click on the chart sets it (in a callback,
before the widgets are drawn), so keyboard users, tests (AppTest cannot click a chart) and mouse
users all end up in the same place. The pure parts live in :mod:`core.confusion`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial

import numpy as np
import streamlit as st

from core import charts, viz
from core.confusion import ConfusionCell, cell_indices, confusion_cells, selected_cell
from ui.render_memo import chart_spec
from ui.widgets import show_value_error

SELECTION = "cell"  # the chart's point-selection name; Streamlit reports clicks under it
EXAMPLE_LIMIT = 12  # a cell of 400 mistakes would otherwise send 400 pictures
IMAGE_SIDE = 84  # small images (8, 28, 32 px) are enlarged to about this many pixels
_MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


ShowExamples = Callable[[np.ndarray], None]


def confusion_section(
    predictions: Mapping[str, np.ndarray],
    y_true: np.ndarray,
    class_names: Sequence[str],
    *,
    key: str,
    show_examples: ShowExamples,
    examples: str = "test images",
    size: int | None = None,
    limit: int = EXAMPLE_LIMIT,
) -> None:
    """Each model's confusion matrix (one shared 0–100% colour scale) and the test examples of the chosen cell.

    ``predictions`` maps a model's label to its predicted class per test example; ``show_examples``
    draws the given test indices (images, or spectrograms with sound). With more classes than a
    matrix can show, only the list of cells is offered.
    """
    if not predictions:
        return
    labels = list(predictions)
    classes = len(class_names)
    model_key, cell_key = f"{key}_model", f"{key}_cell"
    # Repaired before any widget is drawn: a model or cell chosen earlier may be gone after retraining.
    if st.session_state.get(model_key) not in labels:
        st.session_state[model_key] = labels[0]
    model = st.session_state[model_key]
    drawn = classes <= charts.MAX_CONFUSION_CLASSES
    try:
        for predicted in predictions.values():  # every model, since every matrix is drawn
            confusion_cells(y_true, predicted, num_classes=classes)
    except ValueError as error:
        show_value_error(error)
        return
    cells = confusion_cells(y_true, predictions[model], num_classes=classes, include_empty=drawn)
    by_classes = {cell.classes: cell for cell in cells}
    if st.session_state.get(cell_key) not in by_classes:
        st.session_state[cell_key] = cells[0].classes if cells else None

    if drawn:
        frames = {label: charts.confusion_frame(y_true, predicted, class_names) for label, predicted in predictions.items()}
        chosen = st.session_state[cell_key]
        outlined = (model, class_names[chosen[0]], class_names[chosen[1]]) if chosen is not None else None
        # A fresh chart per choice: a chart remembers its last click, so clicking that cell again after
        # choosing another in the list would change nothing and never reach the page.
        chart_key = f"{key}_chart_{labels.index(model)}_" + ("none" if chosen is None else f"{chosen[0]}_{chosen[1]}")
        side = size or (180 if classes <= 10 and len(labels) > 1 else 260 if len(labels) > 1 else 300)
        st.vega_lite_chart(
            chart_spec(charts.confusion_grid, frames, class_names, size=side, selection_name=SELECTION, chosen=outlined),
            key=chart_key, on_select=partial(_on_click, chart_key, model_key, cell_key, labels, tuple(class_names)),
            selection_mode=SELECTION, width="content",
        )
        st.caption(
            f"Each row is one true class; colour is the share of that class's {examples}"
            + (", on the same 0–100% scale for every model" if len(labels) > 1 else "")
            + ". Click a cell, or choose it below, to see its examples (outlined in red)."
        )
    else:
        st.caption(
            f"With {classes} classes a confusion matrix has {classes ** 2:,} cells, too many to read; "
            "choose a cell below to see its examples."
        )

    model_column, cell_column = st.columns([1, 2]) if len(labels) > 1 else (None, st.container())
    if model_column is not None:
        model_column.selectbox("Model", labels, key=model_key)
    picked = cell_column.selectbox(
        "Cell (true → predicted)", list(by_classes), key=cell_key,
        format_func=lambda classes_: by_classes[classes_].label(class_names),
        help="Mistakes first, the largest first; then the correct cells.",
    )
    if picked is None:
        st.info(f"No {examples} to show.", icon=":material/info:")
        return
    _show_cell(by_classes[picked], y_true, predictions[model], class_names, show_examples, examples=examples, limit=limit)


def _on_click(chart_key: str, model_key: str, cell_key: str, labels: list[str], class_names: tuple[str, ...]) -> None:
    """A click on a matrix: choose its model and cell in the lists, so both agree on one choice."""
    state = st.session_state.get(chart_key)
    selection = state.get("selection", {}) if state is not None else {}
    found = selected_cell(selection.get(SELECTION), class_names, labels)
    if found is None:
        return
    model, true_class, predicted_class = found
    if model is not None:
        st.session_state[model_key] = model
    st.session_state[cell_key] = (true_class, predicted_class)


def _show_cell(
    cell: ConfusionCell, y_true: np.ndarray, predicted: np.ndarray, class_names: Sequence[str], show_examples: ShowExamples,
    *, examples: str, limit: int,
) -> None:
    indices = cell_indices(y_true, predicted, *cell.classes, num_classes=len(class_names))
    true_name, predicted_name = _literal(class_names[cell.true_class]), _literal(class_names[cell.predicted_class])
    if not len(indices):
        st.info(f"No {examples} of class {true_name} were predicted as {predicted_name}.", icon=":material/info:")
        return
    shown = indices[:limit]
    what = "correctly classified" if cell.correct else f"predicted as {predicted_name}"
    st.markdown(f"**True {true_name}, {what}**: {len(shown)} of {len(indices)} shown" if len(shown) < len(indices)
                else f"**True {true_name}, {what}**: all {len(indices)} shown")
    show_examples(shown)


def _literal(text: str) -> str:
    """A class name (often a folder name someone chose) shown as typed in Markdown: no links, emphasis, icons or maths."""
    return "".join(f"\\{char}" if char in _MARKDOWN_SPECIAL else char for char in str(text))


def example_caption(index: int) -> str:
    """How an example is captioned: its position in the test set."""
    return f"test #{int(index)}"


def image_examples(images: np.ndarray) -> ShowExamples:
    """Draw test images (``(N, H, W, C)``), small ones enlarged without blurring, each captioned with its test index."""

    def show(indices: np.ndarray) -> None:
        pictures = [images[index][..., 0] if images.shape[-1] == 1 else images[index] for index in indices]
        factor = max(1, IMAGE_SIDE // images.shape[1])
        st.image(
            [viz.enlarge(picture, factor) for picture in pictures],
            caption=[example_caption(index) for index in indices],
            width=min(images.shape[2] * factor, 128),
        )

    return show
