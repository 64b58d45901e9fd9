"""The arithmetic behind one feature-map value equals the layer's real output (core.viz.conv_arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest

from core.viz import conv_arithmetic, conv_layers


def _model():
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((9, 11, 3))
    hidden = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="same_relu")(inputs)
    hidden = keras.layers.Conv2D(5, (3, 2), strides=2, padding="valid", activation="tanh", name="valid_stride")(hidden)
    hidden = keras.layers.Conv2D(2, 4, strides=2, padding="same", use_bias=False, name="same_stride_even")(hidden)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(hidden))
    model = keras.Model(inputs, outputs)
    for layer in conv_layers(model):  # biases away from 0, so a missing bias would show
        weights = layer.get_weights()
        if layer.use_bias:
            weights[1] = np.linspace(-0.5, 0.5, len(weights[1])).astype(np.float32)
        layer.set_weights(weights)
    return model


@pytest.fixture(scope="module")
def model_and_image():
    image = np.random.default_rng(0).uniform(0, 1, (9, 11, 3)).astype(np.float32)
    return _model(), image


def _real_outputs(model, image):
    from core.viz import feature_maps

    return dict(feature_maps(model, image))


@pytest.mark.parametrize("layer_name", ["same_relu", "valid_stride", "same_stride_even"])
def test_every_position_equals_the_layers_output(model_and_image, layer_name) -> None:
    model, image = model_and_image
    real = _real_outputs(model, image)[layer_name]
    height, width, channels = real.shape
    for row in range(height):
        for col in range(width):
            channel = (row + col) % channels
            step = conv_arithmetic(model, image, layer_name, row, col, channel)
            assert step.output == pytest.approx(float(real[row, col, channel]), abs=1e-5)
            assert step.products_sum == pytest.approx(float(step.products.sum()))
            assert step.pre_activation == pytest.approx(step.products_sum + step.bias)
            np.testing.assert_array_equal(step.products, step.patch * step.kernel)


def test_padding_is_zero_and_marked_and_the_kernel_is_the_trained_one(model_and_image) -> None:
    model, image = model_and_image
    step = conv_arithmetic(model, image, "same_relu", 0, 0, 1)
    # A 3×3 'same' kernel at the top-left corner hangs one pixel over the top and the left.
    assert step.padded[0].all() and step.padded[:, 0].all() and not step.padded[1:, 1:].any()
    assert not step.patch[step.padded].any()
    np.testing.assert_array_equal(step.patch[1:, 1:], image[:2, :2])
    np.testing.assert_allclose(step.kernel, model.get_layer("same_relu").get_weights()[0][..., 1])
    assert step.bias == pytest.approx(model.get_layer("same_relu").get_weights()[1][1])
    # The output is the layer's own float32 value; the sum shown is computed in float64, so equal within 1e-5.
    assert step.activation == "relu" and step.output == pytest.approx(max(step.pre_activation, 0.0), abs=1e-5)
    assert step.input_rows == (-1, 1) and step.input_cols == (-1, 1)


def test_a_layer_that_is_not_a_convolution_or_a_position_outside_is_refused(model_and_image) -> None:
    model, image = model_and_image
    dense = [layer.name for layer in model.layers if type(layer).__name__ == "Dense"][0]
    with pytest.raises(ValueError, match="not a Conv2D"):
        conv_arithmetic(model, image, dense, 0, 0, 0)
    with pytest.raises(ValueError, match="outside it"):
        conv_arithmetic(model, image, "same_relu", 9, 0, 0)
