"""Keras as the oracle: on random conv/pool/dense stacks our shapes and counts equal Keras' own."""

from __future__ import annotations

import random

import pytest

from core.calculator import analyze
from core.calculator_presets import PRESETS

pytest.importorskip("keras")

from core.keras_equivalent import build_keras_model, keras_counts  # noqa: E402

RANDOM_STACKS = 60


def random_stack(rng: random.Random) -> tuple[tuple[int, ...], list[dict]]:
    """A random network that the calculator accepts: image layers, then an optional head."""
    while True:
        input_shape = (rng.randint(6, 40), rng.randint(6, 40), rng.randint(1, 4))
        layers: list[dict] = []
        for _ in range(rng.randint(1, 5)):
            kind = rng.choice(["conv2d", "conv2d", "conv2d", "maxpool2d", "avgpool2d", "batchnorm", "dropout"])
            if kind == "conv2d":
                kernel = rng.randint(1, 5) if rng.random() < 0.7 else (rng.randint(1, 5), rng.randint(1, 5))
                layers.append(
                    {
                        "type": "conv2d",
                        "filters": rng.randint(1, 16),
                        "kernel": kernel,
                        "stride": rng.choice([1, 1, 2, 3, (1, 2)]),
                        "padding": rng.choice(["valid", "same", 0, 1, 2]),
                        "use_bias": rng.random() < 0.8,
                    }
                )
            elif kind in ("maxpool2d", "avgpool2d"):
                layer = {"type": kind, "pool": rng.choice([1, 2, 3, (2, 3)]), "padding": rng.choice(["valid", "same"])}
                if rng.random() < 0.4:
                    layer["stride"] = rng.randint(1, 3)
                layers.append(layer)
            elif kind == "batchnorm":
                layers.append({"type": "batchnorm"})
            else:
                layers.append({"type": "dropout", "rate": 0.25})
        head = rng.choice(["flatten", "global", "dense_on_image", "none"])
        if head == "flatten":
            layers.append({"type": "flatten"})
        elif head == "global":
            layers.append({"type": "globalavgpool2d"})
        if head != "none":
            for _ in range(rng.randint(1, 2)):
                layers.append({"type": "dense", "units": rng.randint(1, 20), "use_bias": rng.random() < 0.8})
        try:
            analyze(input_shape, layers)
        except ValueError:
            continue
        return input_shape, layers


def random_cases() -> list[tuple[tuple[int, ...], list[dict]]]:
    rng = random.Random(20261122)
    return [random_stack(rng) for _ in range(RANDOM_STACKS)]


def assert_matches_keras(input_shape: tuple[int, ...], layers: list[dict]) -> None:
    ours = analyze(input_shape, layers)
    theirs = keras_counts(input_shape, layers)
    assert [layer.output_shape for layer in ours.layers] == [layer.output_shape for layer in theirs.layers], layers
    assert [layer.params for layer in ours.layers] == [layer.params for layer in theirs.layers], layers
    assert [layer.trainable_params for layer in ours.layers] == [layer.trainable_params for layer in theirs.layers], layers
    assert (ours.total_params, ours.non_trainable_params) == (theirs.total_params, theirs.non_trainable_params), layers


def test_random_stacks_match_keras_shapes_and_counts() -> None:
    cases = random_cases()
    assert len(cases) >= 50
    kinds = {layer["type"] for _, layers in cases for layer in layers}
    assert kinds >= {"conv2d", "maxpool2d", "avgpool2d", "globalavgpool2d", "flatten", "dense", "batchnorm", "dropout"}
    assert any(isinstance(layer.get("padding"), int) and layer["padding"] > 0 for _, layers in cases for layer in layers)
    for input_shape, layers in cases:
        assert_matches_keras(input_shape, layers)


@pytest.mark.parametrize("choice", [p for p in PRESETS if p.key != "vgg16"], ids=lambda p: p.key)
def test_presets_match_keras(choice) -> None:
    assert_matches_keras(choice.input_shape, list(choice.layers))


def test_seed002_valid_padding_and_vector_input_match_keras() -> None:
    seed002 = next(p for p in PRESETS if p.key == "seed002_cnn")
    assert_matches_keras(seed002.input_shape, list(seed002.with_padding("valid")))
    assert_matches_keras((12,), [{"type": "dense", "units": 5}, {"type": "batchnorm"}, {"type": "dense", "units": 2, "use_bias": False}])


def test_build_keras_model_has_the_same_total() -> None:
    layers = [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1}, {"type": "flatten"}, {"type": "dense", "units": 3}]
    model = build_keras_model((6, 6, 2), layers)
    assert model.count_params() == analyze((6, 6, 2), layers).total_params
    assert tuple(model.output_shape[1:]) == (3,)
