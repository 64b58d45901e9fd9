"""The data behind the shared charts, and the filter / feature-map arrays."""

from __future__ import annotations

import numpy as np
import pytest

from core.charts import (
    confusion_chart,
    confusion_frame,
    history_frame,
    learning_curves,
    per_class_accuracy_frame,
    probability_bars,
    probability_frame,
)
from core.viz import feature_map_grid, filter_grid, filter_images, normalize_min_max, standardize_feature_map, tile_images


def test_history_frame_splits_train_and_test() -> None:
    frame = history_frame({"lstm": {"loss": [1.0, 0.5], "val_accuracy": [0.7, 0.8], "epoch_seconds": [3, 3]}})
    assert set(frame["split"]) == {"train", "test"}
    assert frame[(frame.metric == "accuracy")]["value"].tolist() == [0.7, 0.8]
    assert len(frame) == 4  # timings are not curves
    learning_curves(frame).to_dict()
    relabelled = history_frame({"lstm": {"val_loss": [1.0]}}, held_out="validation")
    assert relabelled["split"].tolist() == ["validation"]


def test_confusion_frame_counts_and_normalises_rows() -> None:
    frame = confusion_frame(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ["a", "b"])
    cell = frame.set_index(["true", "predicted"])
    assert cell.loc[("a", "a"), "count"] == 1 and cell.loc[("a", "b"), "fraction"] == 0.5
    assert cell.loc[("b", "b"), "fraction"] == 1.0
    confusion_chart(frame, ["a", "b"]).to_dict()
    per_class = per_class_accuracy_frame(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ["a", "b"])
    assert per_class["accuracy"].tolist() == [0.5, 1.0]


def test_probability_frame_is_sorted() -> None:
    frame = probability_frame(["cat", "dog"], np.array([0.2, 0.8]))
    assert frame["class"].tolist() == ["dog", "cat"]
    probability_bars(frame).to_dict()


def test_normalisations() -> None:
    assert normalize_min_max(np.array([2.0, 4.0])).tolist() == [0, 255]
    assert normalize_min_max(np.ones(3)).tolist() == [128, 128, 128]
    shown = standardize_feature_map(np.array([0.0, 1.0, 2.0, 3.0, 100.0]))
    assert shown.dtype == np.uint8 and shown.max() == 255 and shown.min() >= 0


def test_filter_grid_is_four_by_eight_for_32_filters() -> None:
    kernel = np.random.default_rng(0).normal(size=(5, 5, 1, 32))
    grid = filter_grid(kernel)
    assert grid.shape == (4 * 6 - 1, 8 * 6 - 1)
    rgb = filter_images(np.random.default_rng(0).normal(size=(3, 3, 3, 4)))
    assert rgb.shape == (4, 3, 3, 3)
    with pytest.raises(ValueError):
        filter_images(np.zeros((3, 3)))


def test_tile_and_feature_map_grid() -> None:
    assert tile_images(np.zeros((3, 2, 2), np.uint8), columns=2).shape == (5, 5)
    assert feature_map_grid(np.random.default_rng(0).normal(size=(4, 4, 10)), columns=5).shape == (9, 24)


@pytest.mark.slow
def test_feature_maps_follow_the_conv_layers() -> None:
    import keras

    from core.viz import conv_layers, feature_maps

    model = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(4, 3), keras.layers.MaxPooling2D(),
                              keras.layers.Conv2D(6, 3, padding="same"), keras.layers.Flatten(), keras.layers.Dense(2)])
    assert [layer.filters for layer in conv_layers(model)] == [4, 6]
    maps = feature_maps(model, np.zeros((12, 12, 1), np.float32))
    assert [m.shape for _, m in maps] == [(10, 10, 4), (5, 5, 6)]
