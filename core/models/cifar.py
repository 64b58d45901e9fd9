"""CIFAR-10 CNNs: the two homework seeds' networks and a fast default for a 2-core CPU.

Every builder takes the same options so the page can sweep them: ``activation`` (relu, tanh,
sigmoid, elu) for the hidden layers, ``initializer`` for every kernel, and ``dropout``. Layer
names are stable (``conv1``, ``conv2``…) so feature maps and statistics read like the diagrams.
No Lambda layers: runs are reloaded with ``safe_mode=True``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers

from core.cifar_lab import ACTIVATIONS, INITIALIZERS
from core.models import register_builder

# Short runs leave BatchNorm's moving statistics behind with the default momentum 0.99; 0.9
# fixed test accuracy stuck at 10–22 % in 60 s runs on this machine (see NOTES).
BN_MOMENTUM = 0.9


def _check(activation: str, initializer: str, dropout: float) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if initializer not in INITIALIZERS:
        raise ValueError(f"initializer must be one of {tuple(INITIALIZERS)}, got {initializer!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")


def kernel_initializer(name: str) -> Any:
    """The Keras initializer behind each name the page offers."""
    if name == "truncated_normal":
        # Seed 003 followed the TensorFlow "Deep MNIST" tutorial: weights ~ truncated N(0, 0.1²).
        return keras.initializers.TruncatedNormal(stddev=0.1)
    if name == "glorot_normal":
        return keras.initializers.GlorotNormal()
    if name == "he_normal":
        return keras.initializers.HeNormal()
    raise ValueError(f"initializer must be one of {tuple(INITIALIZERS)}, got {name!r}")


def _bias(initializer: str) -> Any:
    # The same tutorial started biases at 0.1 so ReLUs begin active; the modern initializers use 0.
    return keras.initializers.Constant(0.1) if initializer == "truncated_normal" else "zeros"


def _conv(x: Any, filters: int, kernel: int, *, name: str, activation: str | None, initializer: str) -> Any:
    return layers.Conv2D(
        filters,
        kernel,
        padding="same",
        activation=activation,
        kernel_initializer=kernel_initializer(initializer),
        bias_initializer=_bias(initializer),
        name=name,
    )(x)


def _dense(x: Any, units: int, *, name: str, activation: str | None, initializer: str) -> Any:
    return layers.Dense(
        units,
        activation=activation,
        kernel_initializer=kernel_initializer(initializer),
        bias_initializer=_bias(initializer),
        name=name,
    )(x)


@register_builder("cifar_lenet")
def build_lenet(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    activation: str = "relu",
    initializer: str = "truncated_normal",
    dropout: float = 0.5,
) -> keras.Model:
    """Seed 003: conv5×5×32 + pool, conv5×5×64 + pool, FC 1024 (tanh) + dropout, FC softmax.

    ``activation`` is the conv layers' nonlinearity, the one the homework compared; the
    fully connected layer stays tanh as in the seed.
    """
    _check(activation, initializer, dropout)
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(inputs, 32, 5, name="conv1", activation=activation, initializer=initializer)
    x = layers.MaxPooling2D(2, padding="same", name="pool1")(x)
    x = _conv(x, 64, 5, name="conv2", activation=activation, initializer=initializer)
    x = layers.MaxPooling2D(2, padding="same", name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = _dense(x, 1024, name="fc1", activation="tanh", initializer=initializer)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = _dense(x, num_classes, name="predictions", activation="softmax", initializer=initializer)
    return keras.Model(inputs, outputs, name="seed003_lenet")


@register_builder("cifar_fast")
def build_fast(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    activation: str = "relu",
    initializer: str = "he_normal",
    dropout: float = 0.5,
) -> keras.Model:
    """The fast default: three 3×3 conv blocks (32-64-128) with max-pool, dense 256 + dropout, softmax.

    One conv per block and no BatchNorm is what bought the most accuracy per second on 2 CPU cores.
    """
    _check(activation, initializer, dropout)
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for block, filters in enumerate((32, 64, 128), start=1):
        x = _conv(x, filters, 3, name=f"conv{block}", activation=activation, initializer=initializer)
        x = layers.MaxPooling2D(2, padding="same", name=f"pool{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = _dense(x, 256, name="fc1", activation=activation, initializer=initializer)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = _dense(x, num_classes, name="predictions", activation="softmax", initializer=initializer)
    return keras.Model(inputs, outputs, name="fast_cnn")


def _head(x: Any, num_classes: int, *, dropout: float, initializer: str) -> Any:
    """Seed 004's head: BatchNorm → dropout → flatten → dense softmax."""
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="batchnorm")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    return _dense(x, num_classes, name="predictions", activation="softmax", initializer=initializer)


@register_builder("cifar_baseline")
def build_baseline(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    activation: str = "relu",
    initializer: str = "glorot_normal",
    dropout: float = 0.25,
) -> keras.Model:
    """Seed 004's baseline: conv5×5×32 → conv3×3×64 → conv3×3×64 → conv3×3×128 ('same') → BN → dropout → dense."""
    _check(activation, initializer, dropout)
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(inputs, 32, 5, name="conv1", activation=activation, initializer=initializer)
    x = _conv(x, 64, 3, name="conv2", activation=activation, initializer=initializer)
    x = _conv(x, 64, 3, name="conv3", activation=activation, initializer=initializer)
    x = _conv(x, 128, 3, name="conv4", activation=activation, initializer=initializer)
    outputs = _head(x, num_classes, dropout=dropout, initializer=initializer)
    return keras.Model(inputs, outputs, name="seed004_baseline")


def inception_block(x: Any, filters: int, *, name: str, activation: str, initializer: str) -> Any:
    """Parallel 1×1, 1×1→3×3, 1×1→5×5 and 3×3-pool→1×1 branches, concatenated to ``filters`` channels.

    The 1×1 convs in front of the larger kernels are GoogLeNet's bottlenecks: they cut the
    channels the expensive 3×3 and 5×5 kernels see.
    """
    quarter, half, eighth = filters // 4, filters // 2, filters // 8
    conv = dict(activation=activation, initializer=initializer)
    one = _conv(x, quarter, 1, name=f"{name}_1x1", **conv)
    three = _conv(_conv(x, half // 2, 1, name=f"{name}_3x3_reduce", **conv), half, 3, name=f"{name}_3x3", **conv)
    five = _conv(_conv(x, eighth // 2, 1, name=f"{name}_5x5_reduce", **conv), eighth, 5, name=f"{name}_5x5", **conv)
    pooled = layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    pool = _conv(pooled, filters - quarter - half - eighth, 1, name=f"{name}_pool_proj", **conv)
    return layers.Concatenate(name=f"{name}_concat")([one, three, five, pool])


@register_builder("cifar_inception")
def build_inception(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    activation: str = "relu",
    initializer: str = "glorot_normal",
    dropout: float = 0.25,
) -> keras.Model:
    """Seed 004's baseline with its last two 3×3 convs replaced by inception blocks of 64 and 128 channels."""
    _check(activation, initializer, dropout)
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(inputs, 32, 5, name="conv1", activation=activation, initializer=initializer)
    x = _conv(x, 64, 3, name="conv2", activation=activation, initializer=initializer)
    x = inception_block(x, 64, name="inception1", activation=activation, initializer=initializer)
    x = inception_block(x, 128, name="inception2", activation=activation, initializer=initializer)
    outputs = _head(x, num_classes, dropout=dropout, initializer=initializer)
    return keras.Model(inputs, outputs, name="seed004_inception")


def residual_block(x: Any, filters: int, *, name: str, activation: str, initializer: str) -> Any:
    """Two 3×3 convs plus a shortcut: the identity, or a 1×1 projection when the channel count changes."""
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = _conv(x, filters, 1, name=f"{name}_projection", activation=None, initializer=initializer)
    y = _conv(x, filters, 3, name=f"{name}_conv_a", activation=activation, initializer=initializer)
    y = _conv(y, filters, 3, name=f"{name}_conv_b", activation=None, initializer=initializer)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation(activation, name=f"{name}_out")(y)


@register_builder("cifar_residual")
def build_residual(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    activation: str = "relu",
    initializer: str = "glorot_normal",
    dropout: float = 0.25,
) -> keras.Model:
    """Seed 004's baseline with residual blocks: conv5×5×32, blocks of 64 (projected), 64 (identity), 128 (projected)."""
    _check(activation, initializer, dropout)
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv(inputs, 32, 5, name="conv1", activation=activation, initializer=initializer)
    for index, filters in enumerate((64, 64, 128), start=1):
        x = residual_block(x, filters, name=f"residual{index}", activation=activation, initializer=initializer)
    outputs = _head(x, num_classes, dropout=dropout, initializer=initializer)
    return keras.Model(inputs, outputs, name="seed004_residual")
