"""The course's homework table and its networks: each written once, counted by the calculator and built by Keras alike."""

from __future__ import annotations

import numpy as np
import pytest

from core import homework
from core.calculator import analyze


def test_write_ups_are_named_by_course_and_assignment() -> None:
    assert homework.HOMEWORK["elec576_a2"].name == "ELEC 576 Assignment 2 (Rice)"
    assert homework.HOMEWORK["cs577_hw4"].name == "CS-577 Homework 4"
    assert homework.HOMEWORK["data_ml_200_ex5"].name == "DATA.ML.200 Exercise 5 (Tampere)"
    # A write-up that names no course is named by what it asks, never by an invented course.
    assert homework.HOMEWORK["transfer_hand_signs"].name == "A transfer-learning homework on hand signs"
    for entry in homework.HOMEWORK.values():
        assert "seed" not in entry.name.lower()


def test_every_network_and_figure_points_at_a_homework() -> None:
    for network in homework.NETWORKS.values():
        assert network.source.key == network.homework
        analyze(network.input_shape, network.layers)  # every network is valid calculator input
    assert {entry.homework for entry in homework.REPORTED} <= set(homework.HOMEWORK)
    rows = homework.reported_rows("cs577_hw4")
    assert [row["reported test accuracy"] for row in rows] == [0.736, 0.736, 0.748]
    assert rows[0]["reported by"] == "CS-577 Homework 4"
    with pytest.raises(ValueError, match="unknown homework"):
        homework.reported("seed003")


@pytest.mark.parametrize(
    ("key", "params"),
    [
        ("cnn_128", 355_754),  # the figure DATA.ML.200 Exercise 5 asks for
        ("lenet", 3_274_634),
        ("cats_dogs_cnn", 4_737_473),
        ("cifar_baseline", 1_442_954),
        ("vgg16", 138_357_544),
    ],
)
def test_keras_builds_each_classifier_with_the_calculators_count(key: str, params: int) -> None:
    from core.models.spec import build_classifier

    network = homework.network(key)
    classes = 2 if network.layers[-1]["units"] == 1 else network.layers[-1]["units"]
    model = build_classifier(network.layers, network.input_shape, classes, name=key)
    assert model.count_params() == analyze(network.input_shape, network.layers).total_params == params
    named = [layer.get("name") for layer in network.layers if layer.get("name")]
    assert [layer.name for layer in model.layers if layer.name in named] == named


def test_the_vgg16_base_is_keras_vgg16_layer_for_layer() -> None:
    import keras

    from core.models.spec import build_base

    ours = build_base(homework.VGG16_BASE, (32, 32, 3))
    theirs = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert [layer.name for layer in ours.layers[1:]] == [layer.name for layer in theirs.layers[1:]]
    ours.set_weights(theirs.get_weights())  # the same weights fit, in the same order
    image = np.random.default_rng(0).standard_normal((1, 32, 32, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(ours(image)), np.asarray(theirs(image)), rtol=1e-5, atol=1e-5)
    assert ours.count_params() == 14_714_688


def test_a_binary_network_refuses_more_classes() -> None:
    from core.models.spec import build_classifier

    network = homework.network("cats_dogs_cnn")
    with pytest.raises(ValueError, match="binary classifier"):
        build_classifier(network.layers, (64, 64, 1), 3, name="x")
