"""The calculator's ready-made networks: views of the course's homework networks in :mod:`core.homework`.

A preset adds only what the calculator page needs around a homework network: a title and a
source that name the homework and its question, and whether the page offers a padding toggle.
Preset keys are in shareable links (``?preset=cnn_128``); keys that were renamed still open
their network through :data:`RENAMED_KEYS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.calculator.kinds import describe_layers
from core.calculator.network import analyze
from core.homework import NETWORKS, VGG16_BASE, Homework, Network


@dataclass(frozen=True)
class Preset:
    """A homework network as the calculator offers it."""

    network: Network
    # Offered as a toggle on the page: the homework asks for the figures with both paddings.
    padding_toggle: bool = False
    note: str = ""  # one more sentence for the source, where the homework's question needs it

    @property
    def key(self) -> str:
        """The preset's key in links: the homework network's key."""
        return self.network.key

    @property
    def homework(self) -> Homework:
        """The homework that uses this network."""
        return self.network.source

    @property
    def title(self) -> str:
        """The network and the homework, for the network picker."""
        return f"{self.network.title} — {self.homework.name}"

    @property
    def source(self) -> str:
        """The homework, its question and this network, in words (it starts with the homework's name and a colon)."""
        shape = "×".join(str(n) for n in self.input_shape)
        text = f"{self.homework.name}: {self.homework.asks} The network here: {describe_layers(self.layers)} on a {shape} input."
        return f"{text} {self.note}" if self.note else text

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The homework's input shape."""
        return self.network.input_shape

    @property
    def layers(self) -> tuple[dict[str, Any], ...]:
        """The homework's layers, as written in :mod:`core.homework`."""
        return self.network.layers

    @property
    def batch_size(self) -> int:
        """The batch the homework's memory question uses."""
        return self.network.batch_size

    def with_padding(self, padding: str) -> tuple[dict[str, Any], ...]:
        """The layers with every convolution's padding replaced (those with a kernel), for the padding toggle."""
        return tuple({**layer, "padding": padding} if "kernel" in layer else dict(layer) for layer in self.layers)


def _vgg16_note() -> str:
    base = analyze((224, 224, 3), VGG16_BASE).total_params
    return f"VGG16 (Simonyan & Zisserman, 2014) as in keras.applications; its convolutional base alone has {base:,} parameters."


PRESETS: tuple[Preset, ...] = (
    Preset(NETWORKS["geron"]),
    Preset(NETWORKS["mlp_128"]),
    Preset(NETWORKS["cnn_128"], padding_toggle=True, note="It asks for the figures with 'same' and with 'valid' padding: use the toggle."),
    Preset(NETWORKS["lenet"]),
    Preset(NETWORKS["cats_dogs_cnn"]),
    Preset(NETWORKS["cifar_baseline"]),
    Preset(NETWORKS["vgg16"], note=_vgg16_note()),
    Preset(NETWORKS["audio_cnn"]),
)

# Keys older links carry, and the preset each one now opens.
RENAMED_KEYS: dict[str, str] = {
    "seed002_mlp": "mlp_128",
    "seed002_cnn": "cnn_128",
    "seed003_lenet": "lenet",
    "seed004_cats_dogs": "cats_dogs_cnn",
    "seed004_cifar": "cifar_baseline",
}


def preset(key: str) -> Preset:
    """The preset with this key (an old key opens its renamed preset); ``ValueError`` lists the keys otherwise."""
    key = RENAMED_KEYS.get(key, key)
    for candidate in PRESETS:
        if candidate.key == key:
            return candidate
    raise ValueError(f"unknown preset {key!r}; choose one of {', '.join(p.key for p in PRESETS)}")
