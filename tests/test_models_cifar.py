"""The CIFAR builders: parameter counts against closed forms and the homework's figures, options, safe reloading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.cifar import ARCHITECTURES
from core.datasets import load_dataset
from core.models import build_model

keras = pytest.importorskip("keras")


def _conv(kernel: int, channels_in: int, filters: int) -> int:
    return kernel * kernel * channels_in * filters + filters


def _dense(units_in: int, units_out: int) -> int:
    return units_in * units_out + units_out


def _non_trainable(model) -> int:
    return int(sum(np.prod(weight.shape) for weight in model.non_trainable_weights))


def test_elec576_lenet_matches_the_tensorflow_tutorial_count() -> None:
    # 28×28 → pool → 14×14 → pool → 7×7×64 = 3,136 inputs to FC 1024.
    gray = build_model("cifar_lenet", (28, 28, 1), 10)
    expected = _conv(5, 1, 32) + _conv(5, 32, 64) + _dense(7 * 7 * 64, 1024) + _dense(1024, 10)
    assert expected == 3_274_634
    assert gray.count_params() == expected
    colour = build_model("cifar_lenet", (32, 32, 3), 10)
    assert colour.count_params() == _conv(5, 3, 32) + _conv(5, 32, 64) + _dense(8 * 8 * 64, 1024) + _dense(1024, 10)
    assert colour.get_layer("fc1").activation.__name__ == "tanh"
    assert colour.get_layer("dropout").rate == 0.5


def test_cs577_baseline_has_the_reported_size() -> None:
    model = build_model("cifar_baseline", (32, 32, 3), 10)
    assert model.count_params() == 1_442_954
    assert _non_trainable(model) == 256  # BatchNorm's moving mean and variance of 128 channels
    flat = 32 * 32 * 128  # 'same' padding and no pooling keep the full 32×32 resolution
    expected = _conv(5, 3, 32) + _conv(3, 32, 64) + _conv(3, 64, 64) + _conv(3, 64, 128) + 4 * 128 + _dense(flat, 10)
    assert model.count_params() == expected
    assert model.get_layer("batchnorm").momentum == 0.9


def test_fast_default_closed_form() -> None:
    for shape in ((32, 32, 3), (28, 28, 1)):
        model = build_model("cifar_fast", shape, 10)
        # Three 'same' 2×2 pools take 32 → 4 and 28 → 14 → 7 → 4, so both flatten to 4·4·128.
        expected = _conv(3, shape[-1], 32) + _conv(3, 32, 64) + _conv(3, 64, 128) + _dense(4 * 4 * 128, 256) + _dense(256, 10)
        assert model.count_params() == expected


def test_inception_and_residual_blocks_have_the_promised_structure() -> None:
    inception = build_model("cifar_inception", (32, 32, 3), 10)
    assert inception.get_layer("inception1_concat").output.shape[-1] == 64
    assert inception.get_layer("inception2_concat").output.shape[-1] == 128
    for branch in ("1x1", "3x3", "5x5", "pool_proj"):
        assert inception.get_layer(f"inception2_{branch}") is not None
    assert inception.get_layer("inception2_5x5").kernel.shape[:2] == (5, 5)

    residual = build_model("cifar_residual", (32, 32, 3), 10)
    names = {layer.name for layer in residual.layers}
    # 32 → 64 and 64 → 128 channels need a 1×1 projection; 64 → 64 keeps the identity shortcut.
    assert {"residual1_projection", "residual3_projection"} <= names
    assert "residual2_projection" not in names
    assert residual.get_layer("residual1_projection").kernel.shape[:2] == (1, 1)
    assert residual.get_layer("residual2_add").input[0].shape[-1] == 64


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_every_architecture_builds_predicts_and_reloads_safely(architecture: str, tmp_path: Path) -> None:
    fallback = load_dataset("cifar10-gray28", per_class=2)
    # The offline fallback's upscaled digits take exactly the gray CIFAR shape (and the colour
    # fallback the colour one), so these two builds cover all three inputs.
    assert fallback.input_shape == (28, 28, 1)
    assert load_dataset("cifar10", per_class=2).input_shape == (32, 32, 3)
    for shape in ((32, 32, 3), fallback.input_shape):
        model = build_model(architecture, shape, 10)
        assert model.output_shape == (None, 10)
    images = fallback.x_test[:3].astype("float32") / 255
    probabilities = model.predict(images, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in model.layers)
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), probabilities, atol=1e-6)


def test_initializer_option_sets_the_weight_scale() -> None:
    tutorial = build_model("cifar_lenet", (28, 28, 1), 10, initializer="truncated_normal")
    kernel = tutorial.get_layer("fc1").kernel.numpy()
    # Truncated at 2σ: nothing beyond 0.2, and the spread of N(0, 0.1²) cut at ±2σ is 0.088σ·10.
    assert np.abs(kernel).max() <= 0.2 + 1e-6
    assert 0.083 < kernel.std() < 0.093
    np.testing.assert_allclose(tutorial.get_layer("fc1").bias.numpy(), 0.1)
    fan_in, fan_out = kernel.shape
    for name, expected in (("glorot_normal", np.sqrt(2 / (fan_in + fan_out))), ("he_normal", np.sqrt(2 / fan_in))):
        model = build_model("cifar_lenet", (28, 28, 1), 10, initializer=name)
        std = model.get_layer("fc1").kernel.numpy().std()
        assert abs(std - expected) / expected < 0.05, (name, std, expected)
        np.testing.assert_allclose(model.get_layer("fc1").bias.numpy(), 0.0)


def test_activation_and_dropout_options_take_effect() -> None:
    for architecture in sorted(ARCHITECTURES):
        model = build_model(architecture, (28, 28, 1), 10, activation="sigmoid", dropout=0.3)
        assert model.get_layer("conv1").activation.__name__ == "sigmoid"
        assert model.get_layer("dropout").rate == pytest.approx(0.3)
    probe = keras.Model(model.inputs[0], model.get_layer("conv1").output)
    outputs = probe(np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)).numpy()
    assert outputs.min() > 0 and outputs.max() < 1
    assert build_model("cifar_residual", (28, 28, 1), 10, activation="elu").get_layer("residual1_out").activation.__name__ == "elu"


def test_bad_options_raise_value_errors() -> None:
    with pytest.raises(ValueError, match="activation"):
        build_model("cifar_fast", (32, 32, 3), 10, activation="swish")
    with pytest.raises(ValueError, match="initializer"):
        build_model("cifar_fast", (32, 32, 3), 10, initializer="zeros")
    with pytest.raises(ValueError, match="dropout"):
        build_model("cifar_fast", (32, 32, 3), 10, dropout=1.0)


@pytest.mark.parametrize("module", ["cifar", "transfer"])
def test_builders_are_leaves(module: str) -> None:
    """A builder module imports no training engine and no topic logic, at module level or inside functions."""
    import ast

    tree = ast.parse((Path(__file__).resolve().parents[1] / "core" / "models" / f"{module}.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    forbidden = {"core.training", "core.fit_worker", "core.cifar", "core.transfer", "core.cifar_lab"}
    assert not {name for name in imported if name in forbidden or name.startswith(("core.cifar.", "core.transfer."))}


def test_the_homework_networks_are_built_from_their_one_definition() -> None:
    from core.homework import NETWORKS

    for architecture, key in (("cifar_lenet", "lenet"), ("cifar_baseline", "cifar_baseline")):
        model = build_model(architecture, NETWORKS[key].input_shape, 10)
        named = [layer["name"] for layer in NETWORKS[key].layers]
        assert [layer.name for layer in model.layers if layer.name in named] == named
    # The variants keep the baseline's first convolutions and its head, with the blocks in between.
    inception = [layer.name for layer in build_model("cifar_inception", (32, 32, 3), 10).layers]
    assert inception[1:3] == ["conv1", "conv2"] and inception[-4:] == ["batchnorm", "dropout", "flatten", "predictions"]
    residual = build_model("cifar_residual", (32, 32, 3), 10)
    assert residual.layers[1].name == "conv1" and residual.layers[-1].name == "predictions"
    assert residual.name == "cs577_residual" and build_model("cifar_lenet", (28, 28, 1), 10).name == "elec576_lenet"
