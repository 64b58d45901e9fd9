"""Transfer-learning builders: a pretrained base (VGG16 or an in-app source CNN), a dense head, and the cats-vs-dogs CNN.

Every network here is built from its one definition in :mod:`core.homework` through
:mod:`core.models.spec`. Every transfer model has the same shape so the three modes compare fairly::

    input → [RandomFlip / RandomRotation / RandomZoom] → base (a nested model named "base") → head

The head is the hand-signs homework's: Flatten → Dense 256 → Dense 256 → softmax. Inputs arrive
already preprocessed (VGG16's ``preprocess_input`` or /255, see :mod:`core.transfer`), so no
model holds a ``Lambda`` layer and every saved model reloads with ``safe_mode=True``. Keras is
imported only when a model is built, so the transfer page reads the choices below for free.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from core.homework import NETWORKS, SMALL_SOURCE_BASE, VGG16_BASE, Layer, dense_head
from core.models import register_builder
from core.models.spec import apply_layers, build_base, build_classifier, output_layer

# The base kinds and their layers: VGG16's ImageNet convolutions, or the in-app source CNN's.
BASE_LAYERS: dict[str, tuple[Layer, ...]] = {"vgg16": VGG16_BASE, "small_cnn": SMALL_SOURCE_BASE}
BASE_KINDS = tuple(BASE_LAYERS)
TRAINABLE_CHOICES = ("none", "last_block", "all")
AUGMENTATION_LAYERS = ("flip", "rotation", "zoom")


def last_block(kind: str) -> str:
    """The name prefix of the block a fine-tune unfreezes: VGG16's ``block5`` (3 convs), the small CNN's ``block2`` (2 convs)."""
    return str(base_layers(kind)[-1]["name"]).split("_")[0]


def base_layers(kind: str) -> tuple[Layer, ...]:
    """The calculator layers of a base kind; ``ValueError`` lists the kinds otherwise."""
    if kind not in BASE_LAYERS:
        raise ValueError(f"base must be one of {BASE_KINDS}, got {kind!r}")
    return BASE_LAYERS[kind]


def head_layers(num_classes: int, units: int = 256) -> list[Layer]:
    """The dense head with its output sized for ``num_classes`` (softmax), as :func:`apply_layers` takes it."""
    head = dense_head(num_classes, units)
    return [*head[:-1], output_layer(head[-1], num_classes)]


@register_builder("transfer_head")
def build_transfer_head(input_shape: tuple[int, ...], num_classes: int, *, units: int = 256, **_cache_key: Any) -> Any:
    """The head alone, trained on cached bottleneck features (extra options only tag the cache key)."""
    return build_classifier(
        dense_head(num_classes, units), input_shape, num_classes, name="transfer_head", input_name="bottleneck_features"
    )


def vgg16_base(input_shape: tuple[int, ...]) -> Any:
    """VGG16's 13 convolutions without the classifier, randomly initialised, as a model named ``base``.

    Its layers carry Keras' own names, so VGG16's published weight files load into it.
    """
    if len(input_shape) != 3 or input_shape[-1] != 3 or min(input_shape[:2]) < 32:
        raise ValueError(f"VGG16 needs RGB inputs of at least 32×32, got {input_shape}")
    return build_base(VGG16_BASE, input_shape)


def make_base(kind: str, input_shape: tuple[int, ...]) -> Any:
    """A randomly initialised base of the given kind."""
    if kind == "vgg16":
        return vgg16_base(input_shape)
    return build_base(base_layers(kind), input_shape)


def full_vgg16(weights_path: str | Path) -> Any:
    """VGG16 with its 1,000-class ImageNet classifier at 224×224, loaded from Keras' full weights file."""
    network = NETWORKS["vgg16"]
    model = build_classifier(network.layers, network.input_shape, 1000, name="vgg16")
    load_base_weights(model, weights_path)
    return model


def load_base_weights(base: Any, weights_path: str | Path) -> None:
    """Load pretrained weights into ``base`` from a VGG16 ``.h5`` file (legacy or Keras 3) or a source ``.keras`` model.

    Raises ``ValueError`` naming the file when its weights do not fit this base.
    """
    import h5py
    import keras

    path = Path(weights_path)
    if not path.is_file():
        raise ValueError(f"weights file {path} does not exist")
    try:
        if path.suffix == ".keras":
            source = keras.models.load_model(path, safe_mode=True)
            base.set_weights(source.get_layer("base").get_weights())
            return
        with h5py.File(path, "r") as handle:
            legacy = "layer_names" in handle.attrs or "model_weights" in handle
        # ``load_weights`` picks its reader by the file name: the legacy HDF5 reader for
        # ``.h5``/``.hdf5``, Keras 3's own format only for ``.weights.h5``.
        wanted = (".h5", ".hdf5") if legacy else (".weights.h5",)
        if path.name.endswith(wanted):
            base.load_weights(path)
            return
        with tempfile.TemporaryDirectory(prefix="dllab-weights-") as folder:
            alias = Path(folder) / f"base{wanted[0]}"
            alias.symlink_to(path.resolve())
            base.load_weights(alias)
    except ValueError as error:
        raise ValueError(f"the weights in {path.name} do not fit this network: {error}") from None
    except (OSError, KeyError) as error:
        raise ValueError(f"{path.name} is not a readable weights file: {error}") from None


def set_trainable(base: Any, kind: str, trainable: str) -> None:
    """Freeze the whole base, unfreeze only its last block (fine-tuning), or train all of it."""
    if trainable not in TRAINABLE_CHOICES:
        raise ValueError(f"trainable must be one of {TRAINABLE_CHOICES}, got {trainable!r}")
    if trainable == "none":
        base.trainable = False
        return
    base.trainable = True
    if trainable == "last_block":
        block = last_block(kind)
        for layer in base.layers:
            layer.trainable = layer.name.startswith(block)


def augmentation_layers(augment: tuple[str, ...], *, seed: int = 0) -> list[Any]:
    """Keras preprocessing layers for the chosen augmentations; they act only while training."""
    from keras import layers

    unknown = set(augment) - set(AUGMENTATION_LAYERS)
    if unknown:
        raise ValueError(f"augment may contain {AUGMENTATION_LAYERS}, got {sorted(unknown)}")
    chosen = []
    if "flip" in augment:
        chosen.append(layers.RandomFlip("horizontal", seed=seed, name="augment_flip"))
    if "rotation" in augment:
        chosen.append(layers.RandomRotation(0.1, seed=seed, name="augment_rotation"))
    if "zoom" in augment:
        chosen.append(layers.RandomZoom(0.2, seed=seed, name="augment_zoom"))
    return chosen


@register_builder("transfer_full")
def build_transfer_full(
    input_shape: tuple[int, ...],
    num_classes: int,
    *,
    base: str = "vgg16",
    weights_path: str | None = None,
    weights_digest: str | None = None,
    trainable: str = "none",
    augment: tuple[str, ...] = (),
    units: int = 256,
    seed: int = 0,
) -> Any:
    """Augmentation → base (pretrained from ``weights_path`` or random) → dense head.

    ``weights_digest`` is the weights file's content hash; it is not used here, but being a model
    option it puts the weights into the run's cache key, so new weights mean a new run.
    """
    import keras

    del weights_digest
    network = make_base(base, input_shape)
    if weights_path:
        load_base_weights(network, weights_path)
    set_trainable(network, base, trainable)
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for layer in augmentation_layers(tuple(augment), seed=seed):
        x = layer(x)
    x = network(x, training=False) if trainable == "none" else network(x)
    return keras.Model(inputs, apply_layers(x, head_layers(num_classes, units)), name=f"{base}_{trainable}")


@register_builder("source_cnn")
def build_source_cnn(input_shape: tuple[int, ...], num_classes: int, *, units: int = 256) -> Any:
    """The in-app source network: the small CNN base and the dense head, trained from scratch on the source task."""
    import keras

    inputs = keras.Input(shape=input_shape, name="image")
    features = make_base("small_cnn", input_shape)(inputs)
    return keras.Model(inputs, apply_layers(features, head_layers(num_classes, units)), name="source_cnn")


@register_builder("cats_dogs_cnn")
def build_cats_dogs_cnn(input_shape: tuple[int, ...], num_classes: int = 2) -> Any:
    """CS-577 Homework 4's binary CNN: conv3×3×32 → pool → conv3×3×64 → pool → flatten → dense 32 → dense 1 sigmoid.

    On 200×200×1 inputs it has 4,737,473 parameters, almost all in the dense layer after flatten.
    """
    return build_classifier(NETWORKS["cats_dogs_cnn"].layers, input_shape, num_classes, name="cats_dogs_cnn")
