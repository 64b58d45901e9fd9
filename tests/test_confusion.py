"""Confusion cell → examples: the pure cell logic, the clickable chart, and a click's effect on the choice."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from core import charts
from core.confusion import ConfusionCell, cell_indices, confusion_cells, selected_cell

Y_TRUE = np.array([0, 1, 2, 1, 2, 2, 0, 1, 1])
Y_PRED = np.array([0, 2, 2, 1, 1, 2, 0, 2, 2])
NAMES = ("zero", "one", "two")


def test_cell_indices_are_the_test_positions_of_that_true_predicted_pair() -> None:
    assert cell_indices(Y_TRUE, Y_PRED, 1, 2, num_classes=3).tolist() == [1, 7, 8]
    assert cell_indices(Y_TRUE, Y_PRED, 2, 1, num_classes=3).tolist() == [4]
    assert cell_indices(Y_TRUE, Y_PRED, 0, 0, num_classes=3).tolist() == [0, 6]
    assert cell_indices(Y_TRUE, Y_PRED, 0, 2, num_classes=3).tolist() == []  # an empty cell is no error
    assert cell_indices([], [], 0, 0, num_classes=3).tolist() == []
    # Every test example lies in exactly one cell.
    together = sorted(i for t in range(3) for p in range(3) for i in cell_indices(Y_TRUE, Y_PRED, t, p, num_classes=3))
    assert together == list(range(len(Y_TRUE)))


def test_cells_list_mistakes_first_largest_first_then_correct_then_empty() -> None:
    cells = confusion_cells(Y_TRUE, Y_PRED, num_classes=3)
    assert [(c.true_class, c.predicted_class, c.count) for c in cells] == [
        (1, 2, 3), (2, 1, 1),  # mistakes, largest first
        (0, 0, 2), (2, 2, 2), (1, 1, 1),  # then the diagonal, largest first, ties in row order
    ]
    with_empty = confusion_cells(Y_TRUE, Y_PRED, num_classes=3, include_empty=True)
    assert len(with_empty) == 9 and with_empty[:5] == cells
    assert [c.count for c in with_empty[5:]] == [0, 0, 0, 0]
    assert cells[0].label(NAMES) == "true one → predicted two (3 examples)"
    assert cells[1].label(NAMES) == "true two → predicted one (1 example)"
    assert cells[2].label(NAMES) == "true zero → predicted zero (correct, 2 examples)"
    assert ConfusionCell(1, 1, 0).correct and not cells[0].correct


@pytest.mark.parametrize(
    ("y_true", "y_pred", "num_classes", "message"),
    [
        (Y_TRUE, Y_PRED[:-1], 3, "one label per test example"),
        (Y_TRUE, Y_PRED, 2, "y_true must hold whole class indices from 0 to 1"),
        (Y_TRUE, Y_PRED.astype(float) + 0.5, 3, "y_pred must hold whole class indices"),
        (Y_TRUE.reshape(3, 3), Y_PRED, 3, "y_true must be a 1-D array"),
        (Y_TRUE, -Y_PRED, 3, "y_pred must hold whole class indices"),
        (Y_TRUE, Y_PRED, 0, "num_classes must be a positive whole number"),
    ],
)
def test_bad_labels_raise_one_clear_value_error(y_true, y_pred, num_classes: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        confusion_cells(y_true, y_pred, num_classes=num_classes)


def test_a_cell_outside_the_classes_is_refused() -> None:
    with pytest.raises(ValueError, match="predicted_class must be a class index from 0 to 2, got 3"):
        cell_indices(Y_TRUE, Y_PRED, 0, 3, num_classes=3)


def test_selected_cell_reads_what_streamlit_reports_for_a_click() -> None:
    # Streamlit's point-selection payload: the clicked marks' projected fields.
    assert selected_cell([{"model": "CNN", "true": "one", "predicted": "two"}], NAMES, ["RF", "CNN"]) == ("CNN", 1, 2)
    # Shift-click adds points; the last one is the click just made.
    assert selected_cell([{"true": "one", "predicted": "two"}, {"true": "two", "predicted": "two"}], NAMES) == (None, 2, 2)
    # Vega-Lite's own field → values form.
    assert selected_cell({"model": ["RF"], "true": ["zero"], "predicted": ["one"]}, NAMES, ["RF"]) == ("RF", 0, 1)
    # Class names that are numbers may come back as numbers.
    assert selected_cell([{"true": 3, "predicted": 5}], [str(d) for d in range(10)]) == (None, 3, 5)
    for nothing in (None, [], {}, [{"true": "one"}], [{"true": "eleven", "predicted": "one"}], "cell", [3]):
        assert selected_cell(nothing, NAMES) is None
    assert selected_cell([{"model": "gone", "true": "one", "predicted": "one"}], NAMES, ["CNN"]) == (None, 1, 1)


def test_the_chart_can_be_clicked_and_outlines_the_chosen_cell_in_one_model_only() -> None:
    frame = charts.confusion_frame(Y_TRUE, Y_PRED, NAMES)
    grid = charts.confusion_grid({"A": frame, "B": frame}, NAMES, selection_name="cell", chosen=("B", "one", "two")).to_dict()
    [param] = grid["params"]
    assert param["name"] == "cell" and param["select"]["type"] == "point"
    assert param["select"]["fields"] == ["model", "true", "predicted"]
    chosen = {
        view["layer"][0]["title"]: [(row["true"], row["predicted"]) for row in grid["datasets"][view["data"]["name"]] if row.get("chosen")]
        for view in grid["concat"]
    }
    assert chosen == {"A": [], "B": [("one", "two")]}
    # Without a selection the chart is the plain, unclickable one it always was.
    assert "params" not in charts.confusion_chart(frame, NAMES).to_dict()


def test_a_click_chooses_the_same_model_and_cell_as_the_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.confusion

    state = {"k_chart": {"selection": {"cell": [{"model": "CNN", "true": "two", "predicted": "one"}]}}}
    monkeypatch.setattr(ui.confusion, "st", SimpleNamespace(session_state=state))
    ui.confusion._on_click("k_chart", "k_model", "k_cell", ["RF", "CNN"], NAMES)
    assert state["k_model"] == "CNN" and state["k_cell"] == (2, 1)
    state["k_chart"] = {"selection": {"cell": []}}  # a click that selects nothing changes nothing
    ui.confusion._on_click("k_chart", "k_model", "k_cell", ["RF", "CNN"], NAMES)
    assert state["k_model"] == "CNN" and state["k_cell"] == (2, 1)


def _section_app(classes: int, tests: int, shift: int, names_prefix: str) -> None:
    """The confusion section alone, on made-up labels: every prediction ``shift`` classes off, 4×4 images."""
    import numpy as np

    from ui.confusion import confusion_section, image_examples

    y_true = np.arange(tests) % classes
    predicted = (y_true + shift) % classes if shift >= 0 else y_true[:-1]
    images = np.zeros((tests, 4, 4, 1), dtype=np.uint8)
    names = tuple(f"{names_prefix}{index}" for index in range(classes))
    confusion_section({"only": predicted}, y_true, names, key="k", show_examples=image_examples(images))


def _section(classes: int, tests: int, *, shift: int = 1, names_prefix: str = "c"):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_function(_section_app, args=(classes, tests, shift, names_prefix), default_timeout=30).run()


def test_the_section_caps_the_examples_shown_and_says_how_many_there_are() -> None:
    at = _section(3, 90)  # every true class read as the next one: three cells of 30
    assert not at.exception and not at.error
    assert at.selectbox(key="k_cell").options[:3] == [f"true c{t} → predicted c{(t + 1) % 3} (30 examples)" for t in range(3)]
    assert not any(box.key == "k_model" for box in at.selectbox)  # one model: no model list
    [chart] = at.get("vega_lite_chart")  # clickable: Streamlit reruns on its "cell" selection
    assert list(chart.proto.selection_mode) == ["cell"] and '"select"' in chart.proto.spec
    assert [block.value for block in at.markdown] == ["**True c0, predicted as c1**: 12 of 30 shown"]
    assert [caption for image in at.image for caption in image.captions] == [f"test #{i}" for i in range(0, 36, 3)]


def test_too_many_classes_offer_the_list_without_a_chart_and_bad_labels_are_an_error() -> None:
    at = _section(50, 100)
    assert not at.exception and not at.error
    assert not at.get("vega_lite_chart")
    assert any("too many to read" in caption.value for caption in at.caption)
    assert len(at.selectbox(key="k_cell").options) == 50  # only the filled cells, no 2,500-entry list
    at = _section(3, 9, shift=-1)  # one prediction short
    assert not at.exception and any("one label per test example" in error.value for error in at.error)


def test_class_names_are_shown_as_typed_not_as_markdown() -> None:
    at = _section(2, 4, names_prefix="[x](http://example.com) *")
    assert not at.exception
    [block] = at.markdown
    assert block.value.startswith(r"**True \[x\]\(http\://example\.com\) \*0, predicted as")
