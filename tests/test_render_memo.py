"""The render memo: the chart spec it hands out is what ``st.altair_chart`` would send, pictures are exact PNGs, inputs are told apart."""

from __future__ import annotations

import json

import altair as alt
import numpy as np
import pandas as pd
import pytest
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

from core import charts
from core import viz
from ui import render_memo
from ui.render_memo import chart_spec, clear_memos, picture_png


@pytest.fixture(autouse=True)
def empty_memo():
    clear_memos()
    yield
    clear_memos()


def _history(accuracy_at_end: float = 0.8) -> pd.DataFrame:
    return charts.history_frame({"run a": {"accuracy": [0.5, accuracy_at_end], "val_accuracy": [0.4, 0.7], "loss": [1.0, 0.5]}})


def test_the_spec_is_what_streamlit_would_send_for_the_altair_chart() -> None:
    frame = _history()
    expected = _convert_altair_to_vega_lite_spec(charts.learning_curves(frame, metric="accuracy"))
    first = chart_spec(charts.learning_curves, frame, metric="accuracy")
    again = chart_spec(charts.learning_curves, frame, metric="accuracy")
    assert first == expected
    assert again == expected
    assert render_memo.specs.size()[0] == 1  # built once
    # The data travels as Arrow bytes named by their content, as st.altair_chart sends it.
    assert all(isinstance(value, bytes) for value in first["datasets"].values())


def test_each_call_gets_its_own_copy() -> None:
    frame = _history()
    first = chart_spec(charts.learning_curves, frame, metric="loss")
    first["title"] = "changed by a caller"
    first.pop("datasets")
    again = chart_spec(charts.learning_curves, frame, metric="loss")
    assert again["title"] != "changed by a caller"
    assert "datasets" in again


@pytest.mark.parametrize(
    "change",
    [
        lambda frame: frame.assign(value=frame["value"] + 1e-9),  # one digit in the data
        lambda frame: frame.rename(columns={"run": "RUN"}).rename(columns={"RUN": "run"}).iloc[::-1],  # row order
        lambda frame: frame.assign(run=frame["run"].astype("category")),  # a dtype
        lambda frame: frame.iloc[1:],  # a row fewer
    ],
)
def test_any_change_to_the_data_gives_a_new_spec(change) -> None:
    frame = _history()
    before = chart_spec(charts.learning_curves, frame, metric="accuracy")
    changed = change(frame)
    after = chart_spec(charts.learning_curves, changed, metric="accuracy")
    assert after == _convert_altair_to_vega_lite_spec(charts.learning_curves(changed, metric="accuracy"))
    assert render_memo.specs.size()[0] == 2
    assert after != before


def test_arguments_and_builders_are_part_of_the_key() -> None:
    frame = _history()
    accuracy = chart_spec(charts.learning_curves, frame, metric="accuracy")
    loss = chart_spec(charts.learning_curves, frame, metric="loss")
    below = chart_spec(charts.learning_curves, frame, metric="loss", legend_below=True)
    assert accuracy != loss and loss != below
    assert below["config"]["legend"]["orient"] == "bottom"
    bars = chart_spec(charts.probability_bars, charts.probability_frame(["cat", "dog"], np.array([0.25, 0.75])))
    assert bars["mark"]["type"] == "bar"
    assert render_memo.specs.size()[0] == 4


def test_the_confusion_grid_keeps_its_click_selection() -> None:
    y_true, y_pred = np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2])
    frames = {name: charts.confusion_frame(y_true, y_pred, ["a", "b", "c"]) for name in ("CNN", "LSTM")}
    spec = chart_spec(charts.confusion_grid, frames, ["a", "b", "c"], size=180, selection_name="cell", chosen=("CNN", "b", "c"))
    assert spec == _convert_altair_to_vega_lite_spec(
        charts.confusion_grid(frames, ["a", "b", "c"], size=180, selection_name="cell", chosen=("CNN", "b", "c"))
    )
    assert "cell" in json.dumps(spec["params"])
    swapped = chart_spec(charts.confusion_grid, dict(reversed(frames.items())), ["a", "b", "c"], size=180, selection_name="cell")
    assert swapped != spec  # the order of the models is the order of the matrices


def test_unknown_inputs_and_unnamed_builders_are_built_every_time() -> None:
    frame = _history()
    spec = chart_spec(lambda data: charts.learning_curves(data), frame)
    assert spec["mark"]["type"] == "line"

    class Opaque:
        pass

    def build(_thing: object) -> alt.Chart:
        return alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q")

    chart_spec(build, Opaque())
    assert render_memo.specs.size() == (0, 0)


def test_the_memo_stays_within_its_bounds(monkeypatch) -> None:
    monkeypatch.setattr(render_memo.specs, "max_items", 3)
    for seed in range(6):
        chart_spec(charts.learning_curves, _history(0.1 * seed), metric="accuracy")
    count, size = render_memo.specs.size()
    assert count == 3
    clear_memos()
    monkeypatch.setattr(render_memo.specs, "max_items", 100)
    monkeypatch.setattr(render_memo.specs, "max_bytes", size * 5 // 3)  # room for about five
    for seed in range(10):
        chart_spec(charts.learning_curves, _history(0.1 * seed), metric="accuracy")
    count, kept = render_memo.specs.size()
    assert 4 <= count <= 5 and kept <= size * 5 // 3


def test_sessions_asking_at_once_build_a_chart_once() -> None:
    import threading
    import time

    frame = _history()
    built: list[int] = []
    start = threading.Barrier(8)

    def slow_curves(data: pd.DataFrame, *, metric: str) -> alt.Chart:
        built.append(1)
        time.sleep(0.2)  # long enough for every other session to miss the memo without the building lock
        return charts.learning_curves(data, metric=metric)

    slow_curves.__qualname__ = "slow_curves"  # a stable name, as a module-level builder has
    results: list[dict] = []

    def student() -> None:
        start.wait()
        results.append(chart_spec(slow_curves, frame, metric="accuracy"))

    threads = [threading.Thread(target=student) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1
    assert len(results) == 8 and all(result == results[0] for result in results)
    assert render_memo.specs.is_idle()


def test_a_picture_is_the_exact_png_of_the_array_and_is_encoded_once() -> None:
    import io

    from PIL import Image

    kernel = np.random.default_rng(0).normal(size=(3, 3, 1, 16)).astype(np.float32)
    png = picture_png(viz.filter_grid, kernel, upscale=4)
    again = picture_png(viz.filter_grid, kernel, upscale=4)
    assert png is again and render_memo.pictures.size()[0] == 1
    decoded = np.asarray(Image.open(io.BytesIO(png)))
    np.testing.assert_array_equal(decoded, viz.filter_grid(kernel, upscale=4).reshape(decoded.shape))
    colour = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(picture_png(viz.enlarge, colour, 1)))), colour)
    assert picture_png(viz.filter_grid, kernel, upscale=2) != png  # another argument, another picture


def test_a_picture_that_is_not_uint8_is_refused() -> None:
    with pytest.raises(TypeError, match="uint8"):
        picture_png(np.zeros, (2, 2))  # float64
