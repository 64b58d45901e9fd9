"""CIFAR-10 CNNs: the ELEC 576 LeNet, the CS-577 baseline and its inception and residual variants, and a fast default.

The homework networks are built from their one definition in :mod:`core.homework` through
:mod:`core.models.spec`. Every builder takes the same options so the CIFAR lab can sweep them:
``activation`` (one of :data:`ACTIVATIONS`) for the hidden layers, ``initializer`` (one of
:data:`INITIALIZERS`) for every kernel, and ``dropout``. Layer names are stable (``conv1``,
``conv2``…) so feature maps and statistics read like the diagrams. No Lambda layers: runs are
reloaded with ``safe_mode=True``. Keras is imported only when a model is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.homework import NETWORKS, Layer
from core.models import register_builder
from core.models.spec import apply_layers, build_classifier, output_layer

ACTIVATIONS = ("relu", "tanh", "sigmoid", "elu")
INITIALIZERS = ("truncated_normal", "glorot_normal", "he_normal")
# Short runs leave BatchNorm's moving statistics behind with the default momentum 0.99; 0.9
# fixed test accuracy stuck at 10–22 % in 60 s runs on this machine (see NOTES).
BN_MOMENTUM = 0.9

# The fast default is this app's own recipe, not a homework network: three 3×3 conv blocks
# (32-64-128) with max-pool, dense 256 + dropout. One conv per block and no BatchNorm bought
# the most accuracy per second on 2 CPU cores.
FAST_LAYERS: tuple[Layer, ...] = (
    *(
        layer
        for block, filters in enumerate((32, 64, 128), start=1)
        for layer in (
            {"type": "conv2d", "filters": filters, "kernel": 3, "padding": "same", "name": f"conv{block}"},
            {"type": "maxpool2d", "pool": 2, "padding": "same", "name": f"pool{block}"},
        )
    ),
    {"type": "flatten", "name": "flatten"},
    {"type": "dense", "units": 256, "name": "fc1"},
    {"type": "dropout", "rate": 0.5, "name": "dropout"},
    {"type": "dense", "units": 10, "name": "predictions"},
)


def kernel_initializer(name: str) -> Any:
    """The Keras initializer behind each name the lab offers, as a config each layer instantiates afresh.

    One shared unseeded initializer instance would give every same-shaped kernel identical values.
    """
    if name == "truncated_normal":
        # ELEC 576 Assignment 2 followed TensorFlow's "Deep MNIST" tutorial: weights ~ truncated N(0, 0.1²).
        return {"class_name": "TruncatedNormal", "config": {"stddev": 0.1}}
    if name in INITIALIZERS:
        return name
    raise ValueError(f"initializer must be one of {INITIALIZERS}, got {name!r}")


def bias_initializer(name: str) -> Any:
    """Biases start at 0.1 with the tutorial's initializer, so ReLUs begin active; the modern ones start at 0."""
    return {"class_name": "Constant", "config": {"value": 0.1}} if name == "truncated_normal" else "zeros"


def layer_options(activation: str, initializer: str, dropout: float) -> dict[str, Any]:
    """Check the lab's options and turn them into :func:`core.models.spec.apply_layers` keyword arguments."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if initializer not in INITIALIZERS:
        raise ValueError(f"initializer must be one of {INITIALIZERS}, got {initializer!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return {
        "activation": activation,
        "kernel_initializer": kernel_initializer(initializer),
        "bias_initializer": bias_initializer(initializer),
        "dropout": dropout,
        "batchnorm_momentum": BN_MOMENTUM,
    }


Build = Callable[[tuple[int, ...], int, dict[str, Any]], Any]


def lab_network(architecture: str, *, initializer: str, dropout: float) -> Callable[[Build], Build]:
    """Register ``build(input_shape, num_classes, options)`` as a lab network with the lab's common options.

    Every CIFAR lab network takes ``activation``, ``initializer`` and ``dropout`` (the lab sweeps
    them) with its own defaults; the registered builder checks them and hands ``build`` the
    :func:`core.models.spec.apply_layers` options they mean.
    """

    def register(build: Build) -> Build:
        def builder(
            input_shape: tuple[int, ...], num_classes: int, *, activation: str = "relu",
            initializer: str = initializer, dropout: float = dropout,
        ) -> Any:
            return build(tuple(input_shape), num_classes, layer_options(activation, initializer, dropout))

        builder.__doc__ = build.__doc__
        register_builder(architecture)(builder)
        return build

    return register


@lab_network("cifar_lenet", initializer="truncated_normal", dropout=0.5)
def build_lenet(input_shape: tuple[int, ...], num_classes: int, options: dict[str, Any]) -> Any:
    """ELEC 576 Assignment 2's LeNet: conv5×5×32 + pool, conv5×5×64 + pool, FC 1024 (tanh) + dropout, FC softmax.

    ``activation`` is the conv layers' nonlinearity, the one the homework compared; the fully
    connected layer stays tanh as the homework wrote it.
    """
    return build_classifier(NETWORKS["lenet"].layers, input_shape, num_classes, name="elec576_lenet", **options)


@lab_network("cifar_fast", initializer="he_normal", dropout=0.5)
def build_fast(input_shape: tuple[int, ...], num_classes: int, options: dict[str, Any]) -> Any:
    """The fast default (:data:`FAST_LAYERS`): three 3×3 conv blocks (32-64-128) with max-pool, dense 256 + dropout, softmax."""
    return build_classifier(FAST_LAYERS, input_shape, num_classes, name="fast_cnn", **options)


@lab_network("cifar_baseline", initializer="glorot_normal", dropout=0.25)
def build_baseline(input_shape: tuple[int, ...], num_classes: int, options: dict[str, Any]) -> Any:
    """CS-577 Homework 4's baseline: conv5×5×32 → conv3×3×64 → conv3×3×64 → conv3×3×128 ('same') → BN → dropout → dense."""
    return build_classifier(NETWORKS["cifar_baseline"].layers, input_shape, num_classes, name="cs577_baseline", **options)


def baseline_parts() -> tuple[tuple[Layer, ...], tuple[Layer, ...]]:
    """The CS-577 baseline split into its convolutions and its head (BatchNorm → dropout → flatten → dense)."""
    layers = NETWORKS["cifar_baseline"].layers
    head_starts = next(index for index, layer in enumerate(layers) if layer["type"] == "batchnorm")
    return layers[:head_starts], layers[head_starts:]


def _variant(
    input_shape: tuple[int, ...], num_classes: int, convs: int, blocks: Callable[[Any], Any], *, name: str, options: dict[str, Any]
) -> Any:
    """The baseline's first ``convs`` convolutions, then ``blocks(tensor)``, then the baseline's head."""
    import keras

    stem, head = baseline_parts()
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = blocks(apply_layers(inputs, stem[:convs], **options))
    outputs = apply_layers(x, [*head[:-1], output_layer(head[-1], num_classes)], **options)
    return keras.Model(inputs, outputs, name=name)


def _conv(filters: int, kernel: int, name: str) -> Layer:
    return {"type": "conv2d", "filters": filters, "kernel": kernel, "padding": "same", "name": name}


def inception_block(x: Any, filters: int, *, name: str, **options: Any) -> Any:
    """Parallel 1×1, 1×1→3×3, 1×1→5×5 and 3×3-pool→1×1 branches, concatenated to ``filters`` channels.

    The 1×1 convs in front of the larger kernels are GoogLeNet's bottlenecks: they cut the
    channels the expensive 3×3 and 5×5 kernels see. ``options`` go to :func:`apply_layers`.
    """
    from keras import layers

    quarter, half, eighth = filters // 4, filters // 2, filters // 8
    pool = {"type": "maxpool2d", "pool": 3, "stride": 1, "padding": "same", "name": f"{name}_pool"}
    branches = (
        [_conv(quarter, 1, f"{name}_1x1")],
        [_conv(half // 2, 1, f"{name}_3x3_reduce"), _conv(half, 3, f"{name}_3x3")],
        [_conv(eighth // 2, 1, f"{name}_5x5_reduce"), _conv(eighth, 5, f"{name}_5x5")],
        [pool, _conv(filters - quarter - half - eighth, 1, f"{name}_pool_proj")],
    )
    return layers.Concatenate(name=f"{name}_concat")([apply_layers(x, branch, **options) for branch in branches])


@lab_network("cifar_inception", initializer="glorot_normal", dropout=0.25)
def build_inception(input_shape: tuple[int, ...], num_classes: int, options: dict[str, Any]) -> Any:
    """CS-577 Homework 4's baseline with its last two 3×3 convs replaced by inception blocks of 64 and 128 channels."""

    def blocks(x: Any) -> Any:
        x = inception_block(x, 64, name="inception1", **options)
        return inception_block(x, 128, name="inception2", **options)

    return _variant(input_shape, num_classes, 2, blocks, name="cs577_inception", options=options)


def residual_block(x: Any, filters: int, *, name: str, **options: Any) -> Any:
    """Two 3×3 convs plus a shortcut: the identity, or a 1×1 projection when the channel count changes."""
    from keras import layers

    linear = {**options, "activation": None}
    shortcut = x
    if x.shape[-1] != filters:
        shortcut = apply_layers(x, [_conv(filters, 1, f"{name}_projection")], **linear)
    y = apply_layers(x, [_conv(filters, 3, f"{name}_conv_a")], **options)
    y = apply_layers(y, [_conv(filters, 3, f"{name}_conv_b")], **linear)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.Activation(options["activation"], name=f"{name}_out")(y)


@lab_network("cifar_residual", initializer="glorot_normal", dropout=0.25)
def build_residual(input_shape: tuple[int, ...], num_classes: int, options: dict[str, Any]) -> Any:
    """CS-577 Homework 4's baseline with residual blocks: conv5×5×32, blocks of 64 (projected), 64 (identity), 128 (projected)."""

    def blocks(x: Any) -> Any:
        for index, filters in enumerate((64, 64, 128), start=1):
            x = residual_block(x, filters, name=f"residual{index}", **options)
        return x

    return _variant(input_shape, num_classes, 1, blocks, name="cs577_residual", options=options)
