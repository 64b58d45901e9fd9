"""Activation statistics, saliency and Grad-CAM on tiny hand-made models, where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from core import charts, viz

keras = pytest.importorskip("keras")


def _tiny_cnn() -> keras.Model:
    keras.utils.set_random_seed(1)
    inputs = keras.Input((6, 6, 2))
    x = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="first")(inputs)
    x = keras.layers.Conv2D(2, 3, activation="tanh", name="second")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(4, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs)


def test_activation_statistics_equal_a_direct_numpy_computation() -> None:
    model = _tiny_cnn()
    images = np.random.default_rng(0).random((7, 6, 6, 2), dtype=np.float32)
    probe = keras.Model(model.inputs[0], [model.get_layer("first").output, model.get_layer("second").output])
    direct = [np.asarray(output, dtype=np.float64) for output in probe(images)]
    # A batch size that does not divide the 7 images exercises the running sums.
    stats = viz.activation_statistics(model, images, batch_size=3)
    assert [s.layer for s in stats] == ["first", "second"]
    for s, values in zip(stats, direct):
        assert s.values == values.size
        np.testing.assert_allclose(s.mean, values.mean(), rtol=1e-6)
        np.testing.assert_allclose(s.std, values.std(), rtol=1e-5)
        np.testing.assert_allclose(s.var, values.var(), rtol=1e-5)
    frame = charts.activation_stats_frame(stats)
    assert list(frame.columns) == ["layer", "mean", "std", "var"]
    assert frame["layer"].tolist() == ["first", "second"]
    charts.activation_stats_chart(frame).to_dict()
    with pytest.raises(ValueError, match="images"):
        viz.activation_statistics(model, images[0])


def test_saliency_of_a_linear_softmax_model_is_its_weights() -> None:
    # For softmax(W·x + b) the class score is W[:, c]·x + b, so |∂score/∂x| is |W[:, c]|.
    inputs = keras.Input((3, 3, 1))
    outputs = keras.layers.Dense(2, activation="softmax", name="head")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    weights = np.arange(18, dtype=np.float32).reshape(9, 2) - 9
    model.get_layer("head").set_weights([weights, np.zeros(2, np.float32)])
    image = np.random.default_rng(1).random((3, 3, 1), dtype=np.float32)
    for chosen in (0, 1):
        saliency = viz.saliency_map(model, image, class_index=chosen)
        np.testing.assert_allclose(saliency, np.abs(weights[:, chosen]).reshape(3, 3), rtol=1e-6)
    with pytest.raises(ValueError, match="class_index"):
        viz.saliency_map(model, image, class_index=5)


def test_saliency_and_grad_cam_shapes_on_a_cnn() -> None:
    model = _tiny_cnn()
    image = np.random.default_rng(2).random((6, 6, 2), dtype=np.float32)
    saliency = viz.saliency_map(model, image)
    assert saliency.shape == (6, 6) and saliency.dtype == np.float32
    assert np.all(saliency >= 0) and np.all(np.isfinite(saliency))
    cam = viz.grad_cam(model, image)
    assert cam.shape == (6, 6)
    assert cam.min() >= 0 and cam.max() <= 1
    assert viz.grad_cam(model, image, layer_name="first").shape == (6, 6)
    with pytest.raises(ValueError, match="no feature layer"):
        viz.grad_cam(model, image, layer_name="head")


def _bright_spot_detector() -> keras.Model:
    """A hand-wired net whose class 1 means "something bright": a 1×1 conv detector, averaged, then dense."""
    inputs = keras.Input((8, 8, 1))
    detector = keras.layers.Conv2D(1, 1, activation="relu", name="detector")
    features = detector(inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    head = keras.layers.Dense(2, activation="softmax", name="head")
    model = keras.Model(inputs, head(pooled))
    detector.set_weights([np.ones((1, 1, 1, 1), np.float32), np.zeros(1, np.float32)])
    head.set_weights([np.array([[-1.0, 1.0]], np.float32), np.zeros(2, np.float32)])
    return model


def test_grad_cam_finds_a_planted_feature() -> None:
    model = _bright_spot_detector()
    image = np.zeros((8, 8, 1), np.float32)
    image[5:7, 1:3] = 1.0  # the planted bright patch
    cam = viz.grad_cam(model, image, class_index=1)
    assert cam[5:7, 1:3].min() > 0.5
    outside = np.ones((8, 8), bool)
    outside[4:8, 0:4] = False  # leave room for bilinear spill-over next to the patch
    assert cam[outside].max() < 0.05
    # Class 0 counts brightness as evidence *against* it: nothing positive to show.
    assert viz.grad_cam(model, image, class_index=0).max() == 0.0


def test_overlay_and_colours() -> None:
    colours = viz.heat_colors(np.array([0.0, 1.0]))
    assert colours.dtype == np.uint8 and colours.shape == (2, 3)
    assert colours[1, 0] > colours[0, 0]  # hot is redder than cold
    gray = np.full((4, 4, 1), 100, np.uint8)
    overlay = viz.heatmap_overlay(gray, np.zeros((4, 4)), alpha=0.0)
    assert overlay.shape == (4, 4, 3) and np.all(overlay == 100)
    with pytest.raises(ValueError, match="does not match"):
        viz.heatmap_overlay(gray, np.zeros((3, 3)))
    assert viz.enlarge(np.eye(2, dtype=np.uint8), 3).shape == (6, 6)
