"""Networks from the course's homework, as data for the calculator: input shape, layers, source."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Preset:
    """A ready-made network and the homework question it comes from."""

    key: str
    title: str
    source: str
    input_shape: tuple[int, ...]
    layers: tuple[dict[str, Any], ...]
    batch_size: int = 1
    # Offered as a toggle on the page: the homework asks for the figures with both paddings.
    padding_toggle: bool = False

    def with_padding(self, padding: str) -> tuple[dict[str, Any], ...]:
        """The layers with every convolution's padding replaced, for the padding toggle."""
        return tuple({**layer, "padding": padding} if layer["type"] == "conv2d" else dict(layer) for layer in self.layers)


def _conv(filters: int, kernel: int, *, stride: int = 1, padding: str | int = "valid") -> dict[str, Any]:
    return {"type": "conv2d", "filters": filters, "kernel": kernel, "stride": stride, "padding": padding}


def _vgg_block(filters: int, convs: int) -> list[dict[str, Any]]:
    return [_conv(filters, 3, padding="same") for _ in range(convs)] + [{"type": "maxpool2d", "pool": 2}]


_MAXPOOL = {"type": "maxpool2d", "pool": 2}
_FLATTEN = {"type": "flatten"}

_VGG16_BASE = [
    *_vgg_block(64, 2),
    *_vgg_block(128, 2),
    *_vgg_block(256, 3),
    *_vgg_block(512, 3),
    *_vgg_block(512, 3),
]

PRESETS: tuple[Preset, ...] = (
    Preset(
        key="geron",
        title="Géron 3-layer CNN (seeds 000–001)",
        source=(
            "Géron, Hands-On Machine Learning, ch. 14 exercise 9, asked in seeds 000 and 001: three 3×3 "
            "convolutions with stride 2 and 'same' padding (100, 200, 400 filters) on a 200×300 RGB image. "
            "How many parameters? How much RAM to predict one image, and to train on a batch of 50?"
        ),
        input_shape=(200, 300, 3),
        layers=(_conv(100, 3, stride=2, padding="same"), _conv(200, 3, stride=2, padding="same"), _conv(400, 3, stride=2, padding="same")),
        batch_size=50,
    ),
    Preset(
        key="seed002_mlp",
        title="Seed 002 MLP on 128×128×3",
        source="Seed 002: a fully connected network on 128×128 RGB images with two hidden layers of 100 and 10 outputs.",
        input_shape=(128, 128, 3),
        layers=(_FLATTEN, {"type": "dense", "units": 100}, {"type": "dense", "units": 100}, {"type": "dense", "units": 10}),
    ),
    Preset(
        key="seed002_cnn",
        title="Seed 002 CNN on 128×128×3",
        source=(
            "Seed 002: conv 5×5×32 → 2×2 max-pool → conv 5×5×32 → 2×2 max-pool → flatten → dense 10 on "
            "128×128 RGB images; the homework asks for parameters and multiply-adds with 'same' and 'valid' padding."
        ),
        input_shape=(128, 128, 3),
        layers=(_conv(32, 5, padding="same"), _MAXPOOL, _conv(32, 5, padding="same"), _MAXPOOL, _FLATTEN, {"type": "dense", "units": 10}),
        padding_toggle=True,
    ),
    Preset(
        key="seed003_lenet",
        title="Seed 003 LeNet on MNIST (28×28×1)",
        source=(
            "Seed 003: LeNet, conv 5×5×32 'same' → 2×2 pool → conv 5×5×64 'same' → 2×2 pool → "
            "(flatten) → dense 1024 → dropout → dense 10 on 28×28 gray images."
        ),
        input_shape=(28, 28, 1),
        layers=(
            _conv(32, 5, padding="same"),
            _MAXPOOL,
            _conv(64, 5, padding="same"),
            _MAXPOOL,
            _FLATTEN,
            {"type": "dense", "units": 1024},
            {"type": "dropout", "rate": 0.5},
            {"type": "dense", "units": 10},
        ),
        batch_size=50,
    ),
    Preset(
        key="seed004_cats_dogs",
        title="Seed 004 cats-vs-dogs CNN (200×200×1)",
        source=(
            "Seed 004: conv 3×3×32 → pool → conv 3×3×64 → pool → flatten → dense 32 → dense 1 "
            "on 200×200 gray photos of cats and dogs."
        ),
        input_shape=(200, 200, 1),
        layers=(_conv(32, 3), _MAXPOOL, _conv(64, 3), _MAXPOOL, _FLATTEN, {"type": "dense", "units": 32}, {"type": "dense", "units": 1}),
        batch_size=32,
    ),
    Preset(
        key="seed004_cifar",
        title="Seed 004 CIFAR-10 baseline (32×32×3)",
        source=(
            "Seed 004: the CIFAR-10 baseline, conv 5×5×32, 3×3×64, 3×3×64, 3×3×128 all 'same', then "
            "batch normalisation → dropout → flatten → dense 10 (1,442,954 parameters, 256 non-trainable)."
        ),
        input_shape=(32, 32, 3),
        layers=(
            _conv(32, 5, padding="same"),
            _conv(64, 3, padding="same"),
            _conv(64, 3, padding="same"),
            _conv(128, 3, padding="same"),
            {"type": "batchnorm"},
            {"type": "dropout", "rate": 0.25},
            _FLATTEN,
            {"type": "dense", "units": 10},
        ),
        batch_size=32,
    ),
    Preset(
        key="vgg16",
        title="VGG16 (224×224×3)",
        source=(
            "VGG16 (Simonyan & Zisserman, 2014) as in keras.applications: 13 convolutions in five blocks, "
            "then dense 4096 → 4096 → 1000. The conv base alone has 14,714,688 parameters."
        ),
        input_shape=(224, 224, 3),
        layers=(
            *_VGG16_BASE,
            _FLATTEN,
            {"type": "dense", "units": 4096},
            {"type": "dense", "units": 4096},
            {"type": "dense", "units": 1000},
        ),
        batch_size=32,
    ),
)

VGG16_CONV_BASE: tuple[dict[str, Any], ...] = tuple(_VGG16_BASE)


def preset(key: str) -> Preset:
    """The preset with this key; ``ValueError`` lists the known keys otherwise."""
    for candidate in PRESETS:
        if candidate.key == key:
            return candidate
    raise ValueError(f"unknown preset {key!r}; choose one of {', '.join(p.key for p in PRESETS)}")
