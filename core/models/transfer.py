"""Transfer-learning builders: a pretrained base (VGG16 or an in-app source CNN), a dense head, and seed 004's CNN.

Every transfer model has the same shape so the three modes compare fairly::

    input → [RandomFlip / RandomRotation / RandomZoom] → base (a nested model named "base") → head

The head is seed 000's: Flatten → Dense 256 → Dense 256 → softmax. Inputs arrive already
preprocessed (VGG16's ``preprocess_input`` or /255, see ``core.transfer``), so no model holds a
``Lambda`` layer and every saved model reloads with ``safe_mode=True``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import keras
from keras import layers

from core.models import register_builder

BASE_KINDS = ("vgg16", "small_cnn")
TRAINABLE_CHOICES = ("none", "last_block", "all")
AUGMENTATION_LAYERS = ("flip", "rotation", "zoom")
# The block a fine-tune unfreezes: VGG16's block5 (3 convs), the small CNN's block2 (2 convs).
LAST_BLOCK = {"vgg16": "block5", "small_cnn": "block2"}


def dense_head(features: Any, num_classes: int, *, units: int = 256) -> Any:
    """Seed 000's classifier on top of a base: Flatten → Dense(units) → Dense(units) → softmax."""
    x = layers.Flatten(name="head_flatten")(features)
    x = layers.Dense(units, activation="relu", name="head_dense1")(x)
    x = layers.Dense(units, activation="relu", name="head_dense2")(x)
    return layers.Dense(num_classes, activation="softmax", name="head_output")(x)


@register_builder("transfer_head")
def build_transfer_head(input_shape: tuple[int, ...], num_classes: int, *, units: int = 256, **_cache_key: Any) -> keras.Model:
    """The head alone, trained on cached bottleneck features (extra options only tag the cache key)."""
    inputs = keras.Input(shape=input_shape, name="bottleneck_features")
    return keras.Model(inputs, dense_head(inputs, num_classes, units=units), name="transfer_head")


def vgg16_base(input_shape: tuple[int, ...]) -> keras.Model:
    """VGG16's 13 convolutions without the classifier, randomly initialised, as a model named ``base``."""
    if len(input_shape) != 3 or input_shape[-1] != 3 or min(input_shape[:2]) < 32:
        raise ValueError(f"VGG16 needs RGB inputs of at least 32×32, got {input_shape}")
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=input_shape)
    return keras.Model(vgg.input, vgg.output, name="base")


def small_cnn_base(input_shape: tuple[int, ...]) -> keras.Model:
    """The in-app source network's convolutions: two blocks of two 3×3 convs (32, 64) and a 2×2 pool."""
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for block, filters in ((1, 32), (2, 64)):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{block}_conv1")(x)
        x = layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{block}_conv2")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name="base")


def make_base(kind: str, input_shape: tuple[int, ...]) -> keras.Model:
    """A randomly initialised base of the given kind."""
    if kind == "vgg16":
        return vgg16_base(input_shape)
    if kind == "small_cnn":
        return small_cnn_base(input_shape)
    raise ValueError(f"base must be one of {BASE_KINDS}, got {kind!r}")


def load_base_weights(base: keras.Model, weights_path: str | Path) -> None:
    """Load pretrained weights into ``base`` from a VGG16 ``.h5`` file (legacy or Keras 3) or a source ``.keras`` model.

    Raises ``ValueError`` naming the file when its weights do not fit this base.
    """
    import h5py

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
        if legacy:
            _load_legacy_h5(base, path)
        else:
            # Keras 3 writes and reads its own weights format only under a ``.weights.h5`` name.
            with tempfile.TemporaryDirectory(prefix="dllab-weights-") as folder:
                alias = Path(folder) / "base.weights.h5"
                alias.symlink_to(path.resolve())
                base.load_weights(alias)
    except ValueError as error:
        raise ValueError(f"the weights in {path.name} do not fit this network: {error}") from None
    except (OSError, KeyError) as error:
        raise ValueError(f"{path.name} is not a readable weights file: {error}") from None


def _load_legacy_h5(base: keras.Model, path: Path) -> None:
    # ``load_weights`` picks the legacy HDF5 reader only for ``.h5``/``.hdf5`` names.
    if path.suffix in (".h5", ".hdf5"):
        base.load_weights(path)
        return
    with tempfile.TemporaryDirectory(prefix="dllab-weights-") as folder:
        alias = Path(folder) / "base.h5"
        alias.symlink_to(path.resolve())
        base.load_weights(alias)


def set_trainable(base: keras.Model, kind: str, trainable: str) -> None:
    """Freeze the whole base, unfreeze only its last block (fine-tuning), or train all of it."""
    if trainable not in TRAINABLE_CHOICES:
        raise ValueError(f"trainable must be one of {TRAINABLE_CHOICES}, got {trainable!r}")
    if trainable == "none":
        base.trainable = False
        return
    base.trainable = True
    if trainable == "last_block":
        for layer in base.layers:
            layer.trainable = layer.name.startswith(LAST_BLOCK[kind])


def augmentation_layers(augment: tuple[str, ...], *, seed: int = 0) -> list[Any]:
    """Keras preprocessing layers for the chosen augmentations; they act only while training."""
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
) -> keras.Model:
    """Augmentation → base (pretrained from ``weights_path`` or random) → dense head.

    ``weights_digest`` is the weights file's content hash; it is not used here, but being a model
    option it puts the weights into the run's cache key, so new weights mean a new run.
    """
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
    return keras.Model(inputs, dense_head(x, num_classes, units=units), name=f"{base}_{trainable}")


@register_builder("source_cnn")
def build_source_cnn(input_shape: tuple[int, ...], num_classes: int, *, units: int = 256) -> keras.Model:
    """The in-app source network: the small CNN base and the dense head, trained from scratch on the source task."""
    inputs = keras.Input(shape=input_shape, name="image")
    features = small_cnn_base(input_shape)(inputs)
    return keras.Model(inputs, dense_head(features, num_classes, units=units), name="source_cnn")


@register_builder("cats_dogs_cnn")
def build_cats_dogs_cnn(input_shape: tuple[int, ...], num_classes: int = 2) -> keras.Model:
    """Seed 004's binary CNN: conv3×3×32 → pool → conv3×3×64 → pool → flatten → dense 32 → dense 1 sigmoid.

    On 200×200×1 inputs it has 4,737,473 parameters, almost all in the dense layer after flatten.
    """
    if num_classes != 2:
        raise ValueError(f"seed 004's CNN is a binary classifier; it needs exactly 2 classes, got {num_classes}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(32, 3, activation="relu", name="conv1")(inputs)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(32, activation="relu", name="dense")(x)
    outputs = layers.Dense(1, activation="sigmoid", name="output")(x)
    return keras.Model(inputs, outputs, name="cats_dogs_cnn")
