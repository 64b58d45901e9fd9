"""Confusion cell → examples on every page with a confusion matrix: choosing a cell shows exactly that cell's test examples.

AppTest cannot click a chart, so the cell is chosen in the list that a click also sets
(tests/test_confusion.py checks that a click sets it). Each page trains one tiny offline run.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import app_test

from core.confusion import cell_indices, confusion_cells
from core.training import RunResult, list_cached_runs
from ui.confusion import EXAMPLE_LIMIT, example_caption

pytestmark = pytest.mark.slow


def _shown(at) -> list[str]:
    """The captions of the test examples the confusion section shows, in test-set order (a grid of columns is read column by column)."""
    captions = [caption for image in at.image for caption in image.captions if caption.startswith("test #")]
    return sorted(captions, key=lambda caption: int(caption.removeprefix("test #")))


def _expected(y_true: np.ndarray, predicted: np.ndarray, classes: tuple[int, int], num_classes: int) -> list[str]:
    return [example_caption(index) for index in cell_indices(y_true, predicted, *classes, num_classes=num_classes)[:EXAMPLE_LIMIT]]


def _check_cells(at, key: str, y_true: np.ndarray, predicted: np.ndarray, class_names) -> None:
    """The list offers every cell in the core's order; the largest mistake, the largest cell and an empty one each show their examples."""
    num_classes = len(class_names)
    cells = confusion_cells(y_true, predicted, num_classes=num_classes, include_empty=True)
    box = at.selectbox(key=f"{key}_cell")
    assert box.options == [cell.label(class_names) for cell in cells]
    largest = max(cells, key=lambda cell: cell.count)
    empty = [cell for cell in cells if cell.count == 0]
    for cell in [cells[0], largest, *empty[:1]]:
        at.selectbox(key=f"{key}_cell").set_value(cell.classes).run()
        assert not at.exception and not at.error
        assert _shown(at) == _expected(y_true, predicted, cell.classes, num_classes), cell
        if cell.count > EXAMPLE_LIMIT:
            assert any(f"{EXAMPLE_LIMIT} of {cell.count} shown" in block.value for block in at.markdown)
        if cell.count == 0:
            assert any("were predicted as" in info.value for info in at.info)


def _run(architecture: str, *, test_size: int | None = None) -> RunResult:
    runs = [
        run for run in list_cached_runs()
        if run.config.architecture == architecture and (test_size is None or len(run.test_predictions) == test_size)
    ]
    assert runs, f"no cached {architecture} run"
    return runs[0]


def test_sequence_page_cells_show_their_digits_for_each_model() -> None:
    from core.datasets import load_dataset
    from core.sequence import model_label

    at = app_test("app_pages/sequence_models.py", timeout=180)
    at.multiselect(key="models").set_value(["simple_rnn", "row_cnn"]).run()
    at.number_input(key="epochs").set_value(1).run()
    at.number_input(key="train_size").set_value(200).run()
    at.button(key="train").click().run()
    assert not at.exception and not at.error
    dataset = load_dataset("mnist", train_size=200, seed=0)
    runs = {model_label(run.config): run for run in list_cached_runs()}
    assert at.selectbox(key="seq_confusion_model").options == ["RNN (128)", "CNN"]
    # Before any choice: the first model's largest mistake.
    first = confusion_cells(dataset.y_test, runs["RNN (128)"].predicted_labels, num_classes=dataset.num_classes)[0]
    assert _shown(at) == _expected(dataset.y_test, runs["RNN (128)"].predicted_labels, first.classes, dataset.num_classes)
    for label in ("RNN (128)", "CNN"):
        at.selectbox(key="seq_confusion_model").set_value(label).run()
        _check_cells(at, "seq_confusion", dataset.y_test, runs[label].predicted_labels, dataset.class_names)


def test_cifar_page_cells_show_their_images(baseline) -> None:
    from conftest import baseline_dataset, cifar_page

    at = cifar_page(timeout=120)
    assert not at.exception
    dataset = baseline_dataset()
    _check_cells(at, "cifar_confusion", dataset.y_test, baseline.predicted_labels, dataset.class_names)


def test_transfer_page_cells_show_their_images(digits_source) -> None:
    from core import transfer

    at = app_test("app_pages/transfer_learning.py", timeout=240)
    at.slider(key="tl_per_class").set_value(3).run()
    at.slider(key="tl_epochs").set_value(1).run()
    at.multiselect(key="tl_modes").set_value(["feature_extraction"]).run()
    at.button(key="tl_train").click().run()
    assert not at.exception and not at.error
    dataset = transfer.digits_transfer_task(per_class=3).target
    run = _run("transfer_head")
    _check_cells(at, "tl_confusion", dataset.y_test, run.predicted_labels, dataset.class_names)


def test_audio_page_cells_show_spectrograms_with_sound_or_without_it_for_npy() -> None:
    from core.datasets import load_dataset
    from test_audio_page import _npy_files, _small

    at = _small(app_test("app_pages/audio_models.py", timeout=300))
    at.button(key="train_all").click().run()
    assert not at.exception and not at.error
    assert at.selectbox(key="audio_confusion_model").options == ["Random forest (10 trees)", "CNN", "LSTM"]
    at.selectbox(key="audio_confusion_model").set_value("CNN").run()
    clips = load_dataset("synthetic_sounds", sample_rate=int(at.selectbox(key="sample_rate").value), clip_seconds=0.5)
    cnn = _run("audio_cnn", test_size=len(clips.y_test))
    _check_cells(at, "audio_confusion", clips.y_test, cnn.predicted_labels, clips.class_names)
    # Every clip shown can be played (the data section above plays a few clips of its own).
    cells = confusion_cells(clips.y_test, cnn.predicted_labels, num_classes=clips.num_classes, include_empty=True)
    at.selectbox(key="audio_confusion_cell").set_value(cells[-1].classes).run()
    assert cells[-1].count == 0 and not _shown(at)
    elsewhere = len(at.get("audio"))
    largest = max(cells, key=lambda cell: cell.count)
    at.selectbox(key="audio_confusion_cell").set_value(largest.classes).run()
    assert len(at.get("audio")) - elsewhere == len(_shown(at)) == min(largest.count, EXAMPLE_LIMIT)

    # Features from .npy files keep no sound: spectrograms only, and the page says so.
    at.radio(key="audio_source").set_value("npy").run()
    at.file_uploader(key="npy_upload").set_value(_npy_files()).run()
    at.button(key="train_all").click().run()
    assert not at.exception and not at.error
    y_test = np.arange(9) % 3
    at.selectbox(key="audio_confusion_model").set_value("LSTM").run()
    lstm = _run("audio_rnn", test_size=len(y_test))
    _check_cells(at, "audio_confusion", y_test, lstm.predicted_labels, ("0", "1", "2"))
    first = confusion_cells(y_test, lstm.predicted_labels, num_classes=3)[0]
    at.selectbox(key="audio_confusion_cell").set_value(first.classes).run()
    assert len(_shown(at)) == first.count and not at.get("audio")  # the data section plays nothing either: there is no sound
    assert any("hold no sound" in caption.value for caption in at.caption)
