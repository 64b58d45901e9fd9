"""Keras as the oracle: on random stacks of every layer kind our shapes, counts and multiply-adds equal Keras' own."""

from __future__ import annotations

import random

import pytest

from core.calculator import KINDS, analyze
from core.calculator.presets import PRESETS, preset

pytest.importorskip("keras")

from core.calculator.keras_check import build_keras_model, keras_counts, keras_layers_for  # noqa: E402

RANDOM_STACKS = 60
CONVOLUTIONS = ("conv2d", "depthwise_conv2d", "separable_conv2d")


def random_convolution(rng: random.Random, kind: str) -> dict:
    """A convolution of ``kind`` with random settings, numeric padding included."""
    kernel = rng.randint(1, 5) if rng.random() < 0.7 else (rng.randint(1, 5), rng.randint(1, 5))
    layer = {
        "type": kind,
        "kernel": kernel,
        "stride": rng.choice([1, 1, 2, 3, (1, 2)]),
        "padding": rng.choice(["valid", "same", 0, 1, 2]),
        "use_bias": rng.random() < 0.8,
    }
    if kind != "depthwise_conv2d":
        layer["filters"] = rng.randint(1, 16)
    if kind != "conv2d" and rng.random() < 0.5:
        layer["depth_multiplier"] = rng.randint(1, 3)
    return layer


def random_stack(rng: random.Random) -> tuple[tuple[int, ...], list[dict]]:
    """A random network that the calculator accepts: image layers, then an optional head."""
    while True:
        input_shape = (rng.randint(6, 40), rng.randint(6, 40), rng.randint(1, 4))
        layers: list[dict] = []
        for _ in range(rng.randint(1, 5)):
            kind = rng.choice([*CONVOLUTIONS, "conv2d", "maxpool2d", "avgpool2d", "batchnorm", "dropout"])
            if kind in CONVOLUTIONS:
                layers.append(random_convolution(rng, kind))
            elif kind in ("maxpool2d", "avgpool2d"):
                layer = {"type": kind, "pool": rng.choice([1, 2, 3, (2, 3)]), "padding": rng.choice(["valid", "same"])}
                if rng.random() < 0.4:
                    layer["stride"] = rng.randint(1, 3)
                layers.append(layer)
            elif kind == "batchnorm":
                layers.append({"type": "batchnorm"})
            else:
                layers.append({"type": "dropout", "rate": 0.25})
        head = rng.choice(["flatten", "global_avg", "global_max", "dense_on_image", "none"])
        if head == "flatten":
            layers.append({"type": "flatten"})
        elif head.startswith("global"):
            layers.append({"type": "globalavgpool2d" if head == "global_avg" else "globalmaxpool2d"})
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
    assert [layer.macs for layer in ours.layers] == [layer.macs for layer in theirs.layers], layers
    assert (ours.total_params, ours.non_trainable_params) == (theirs.total_params, theirs.non_trainable_params), layers


def test_random_stacks_match_keras_shapes_and_counts() -> None:
    cases = random_cases()
    assert len(cases) >= 50
    kinds = {layer["type"] for _, layers in cases for layer in layers}
    assert kinds == set(KINDS)
    for kind in CONVOLUTIONS:
        assert any(layer["type"] == kind and isinstance(layer["padding"], int) and layer["padding"] > 0 for _, layers in cases for layer in layers), kind
    assert any(layer.get("depth_multiplier", 1) > 1 for _, layers in cases for layer in layers)
    for input_shape, layers in cases:
        assert_matches_keras(input_shape, layers)


@pytest.mark.parametrize("choice", [p for p in PRESETS if p.key != "vgg16"], ids=lambda p: p.key)
def test_presets_match_keras(choice) -> None:
    assert_matches_keras(choice.input_shape, list(choice.layers))


def test_the_spectrogram_cnn_has_keras_count() -> None:
    audio = preset("audio_cnn")
    assert keras_counts(audio.input_shape, list(audio.layers)).total_params == 562_159


def test_valid_padding_and_vector_input_match_keras() -> None:
    cnn_128 = preset("cnn_128")
    assert_matches_keras(cnn_128.input_shape, list(cnn_128.with_padding("valid")))
    assert_matches_keras((12,), [{"type": "dense", "units": 5}, {"type": "batchnorm"}, {"type": "dense", "units": 2, "use_bias": False}])


@pytest.mark.parametrize(
    ("layer", "keras_layers", "params", "macs"),
    [
        # MobileNet's first block (Howard et al. 2017): 3×3 depthwise on 112×112×32, then 1×1 to 64.
        ({"type": "depthwise_conv2d", "kernel": 3, "padding": "same"}, ("DepthwiseConv2D",), 320, 3_612_672),
        ({"type": "separable_conv2d", "filters": 64, "kernel": 3, "padding": "same"}, ("SeparableConv2D",), 2_400, 29_302_784),
        (
            {"type": "depthwise_conv2d", "kernel": (3, 5), "stride": 2, "padding": 1, "depth_multiplier": 2, "use_bias": False},
            ("ZeroPadding2D", "DepthwiseConv2D"),
            3 * 5 * 32 * 2,
            56 * 55 * 64 * 15,
        ),
        (
            {"type": "separable_conv2d", "filters": 8, "kernel": 3, "padding": 2, "depth_multiplier": 3},
            ("ZeroPadding2D", "SeparableConv2D"),
            9 * 96 + (96 + 1) * 8,
            114 * 114 * (96 * 9 + 96 * 8),
        ),
        ({"type": "globalmaxpool2d"}, ("GlobalMaxPooling2D",), 0, 0),
    ],
    ids=["depthwise", "separable", "depthwise-padded", "separable-padded", "global-max"],
)
def test_new_kinds_match_keras_layer_by_layer(layer, keras_layers, params, macs) -> None:
    ours = analyze((112, 112, 32), [layer]).layers[0]
    theirs = keras_counts((112, 112, 32), [layer]).layers[0]
    assert theirs.keras_layers == keras_layers
    assert (ours.output_shape, ours.params, ours.macs) == (theirs.output_shape, theirs.params, theirs.macs)
    assert (ours.params, ours.macs) == (params, macs)


def test_builder_options_reach_the_new_kinds() -> None:
    separable, = keras_layers_for(
        {"type": "separable_conv2d", "filters": 4, "kernel": 3, "name": "sep"}, activation="relu", kernel_initializer="he_normal"
    )
    assert separable.name == "sep" and separable.activation.__name__ == "relu"
    assert type(separable.depthwise_initializer).__name__ == type(separable.pointwise_initializer).__name__ == "HeNormal"
    depthwise, = keras_layers_for({"type": "depthwise_conv2d", "kernel": 3, "activation": "tanh"}, activation="relu", bias_initializer="ones")
    assert depthwise.activation.__name__ == "tanh" and type(depthwise.bias_initializer).__name__ == "Ones"


def test_build_keras_model_has_the_same_total() -> None:
    layers = [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1}, {"type": "flatten"}, {"type": "dense", "units": 3}]
    model = build_keras_model((6, 6, 2), layers)
    assert model.count_params() == analyze((6, 6, 2), layers).total_params
    assert tuple(model.output_shape[1:]) == (3,)
