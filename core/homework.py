"""The course's homework: which write-up asked what, the networks it used, and the figures it reported.

This is the one place a homework network is written down. The calculator's presets, the Keras
builders (through :mod:`core.models.spec`) and the pages' text all read these layer lists, so the
network a student sees in the calculator is the one the CIFAR, transfer and feature-map pages
train. Layers are the calculator's layer dicts (:func:`core.calculator.analyze`); the keys it does
not read (``name``, ``activation``) are for the Keras builder, which keeps the homework's layer
names so feature maps and statistics read like its diagrams.

In text students read, a write-up is named by its course and assignment, e.g. "ELEC 576
Assignment 2 (Rice)"; :attr:`Homework.name` builds that. Figures a write-up reported are its own,
trained elsewhere and for longer: pages show them as such and never as results measured here.
Where a write-up got something wrong, the calculator's "check your answer" explains the slip
(:mod:`core.calculator.check`); this table keeps what was asked, not the wrong answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Layer = dict[str, Any]


@dataclass(frozen=True)
class Homework:
    """One homework assignment of the course, as the write-ups we build on answered it."""

    key: str
    course: str | None  # None when the write-up names no course
    assignment: str
    asks: str

    @property
    def name(self) -> str:
        """How text students read names it: 'ELEC 576 Assignment 2 (Rice)'."""
        if self.course is None:
            return self.assignment
        course, _, university = self.course.partition(" (")
        return f"{course} {self.assignment}" + (f" ({university}" if university else "")


@dataclass(frozen=True)
class Network:
    """A homework network: its input, its layers, and the homework that uses it."""

    key: str
    title: str
    homework: str  # a key of HOMEWORK
    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    batch_size: int = 1  # the batch the homework's memory question uses

    @property
    def source(self) -> Homework:
        """The homework that uses this network."""
        return HOMEWORK[self.homework]


@dataclass(frozen=True)
class Reported:
    """A figure a homework write-up reported: its own run, not one measured here."""

    homework: str
    data: str
    model: str
    test_accuracy: float

    @property
    def source(self) -> Homework:
        """The homework that reported it."""
        return HOMEWORK[self.homework]


HOMEWORK: dict[str, Homework] = {
    entry.key: entry
    for entry in (
        Homework(
            "geron_ch14_ex9",
            "Hands-On Machine Learning (Géron)",
            "ch. 14 exercise 9",
            "A CNN of three 3×3 convolutions with stride 2 and 'same' padding (100, 200, 400 filters) on a 200×300 RGB "
            "image: how many parameters, and how much RAM to predict one image and to train on a batch of 50?",
        ),
        Homework(
            "transfer_hand_signs",
            None,
            "A transfer-learning homework on hand signs",
            "Classify 6 hand signs at 64×64 with VGG16's frozen ImageNet convolutions and a dense head "
            "(Dense 256 → Dense 256 → softmax), with a train / validation / test split.",
        ),
        Homework(
            "data_ml_200_ex5",
            "DATA.ML.200 (Tampere)",
            "Exercise 5",
            "Parameter and multiply-add counts of an MLP and a CNN on 128×128 RGB images; then a random forest, a CNN "
            "and an LSTM on 40 × 501 log-mel spectrograms of 15 acoustic scenes.",
        ),
        Homework(
            "elec576_a2",
            "ELEC 576 (Rice)",
            "Assignment 2",
            "A LeNet-style CNN on CIFAR-10 shrunk to 28×28 grayscale, comparing activations, optimizers, learning rates "
            "and initialisers, with its filters and activation statistics; then an RNN, an LSTM and a GRU on MNIST read "
            "row by row, against a CNN.",
        ),
        Homework(
            "cs577_hw4",
            "CS-577",
            "Homework 4",
            "A CIFAR-10 baseline CNN, then with inception blocks, then with residual blocks; a small binary CNN on "
            "200×200 grayscale cats and dogs and its feature maps; VGG16 frozen and fine-tuned, with and without augmentation.",
        ),
    )
}


def _conv(filters: int, kernel: int, *, stride: int = 1, padding: str = "valid", **keras: Any) -> Layer:
    return {"type": "conv2d", "filters": filters, "kernel": kernel, "stride": stride, "padding": padding, **keras}


def _pool(**keras: Any) -> Layer:
    return {"type": "maxpool2d", "pool": 2, **keras}


def _dense(units: int, **keras: Any) -> Layer:
    return {"type": "dense", "units": units, **keras}


def _flatten(**keras: Any) -> Layer:
    return {"type": "flatten", **keras}


def _vgg16_block(block: int, filters: int, convs: int) -> list[Layer]:
    # Keras' own layer names, so VGG16's published weight files load layer by layer.
    stack = [_conv(filters, 3, padding="same", name=f"block{block}_conv{index}") for index in range(1, convs + 1)]
    return stack + [_pool(name=f"block{block}_pool")]


VGG16_BASE: tuple[Layer, ...] = tuple(
    layer
    for block, filters, convs in ((1, 64, 2), (2, 128, 2), (3, 256, 3), (4, 512, 3), (5, 512, 3))
    for layer in _vgg16_block(block, filters, convs)
)
# The in-app source network whose convolutions the offline transfer demo reuses (digits 0–4 → 5–9).
SMALL_SOURCE_BASE: tuple[Layer, ...] = tuple(
    layer
    for block, filters in ((1, 32), (2, 64))
    for layer in (
        _conv(filters, 3, padding="same", name=f"block{block}_conv1"),
        _conv(filters, 3, padding="same", name=f"block{block}_conv2"),
        _pool(name=f"block{block}_pool"),
    )
)


def dense_head(num_classes: int, units: int = 256) -> tuple[Layer, ...]:
    """The hand-signs homework's classifier on a base: Flatten → Dense(units) → Dense(units) → softmax."""
    return (
        _flatten(name="head_flatten"),
        _dense(units, activation="relu", name="head_dense1"),
        _dense(units, activation="relu", name="head_dense2"),
        _dense(num_classes, name="head_output"),
    )


NETWORKS: dict[str, Network] = {
    network.key: network
    for network in (
        Network(
            "geron",
            "3-layer CNN, 200×300×3",
            "geron_ch14_ex9",
            (200, 300, 3),
            (_conv(100, 3, stride=2, padding="same"), _conv(200, 3, stride=2, padding="same"), _conv(400, 3, stride=2, padding="same")),
            batch_size=50,
        ),
        Network(
            "mlp_128",
            "MLP on 128×128×3",
            "data_ml_200_ex5",
            (128, 128, 3),
            (_flatten(), _dense(100), _dense(100), _dense(10)),
        ),
        Network(
            "cnn_128",
            "CNN on 128×128×3",
            "data_ml_200_ex5",
            (128, 128, 3),
            (_conv(32, 5, padding="same"), _pool(), _conv(32, 5, padding="same"), _pool(), _flatten(), _dense(10)),
        ),
        Network(
            "audio_cnn",
            "Spectrogram CNN, 40 bands × 501 frames",
            "data_ml_200_ex5",
            (40, 501, 1),
            (_conv(32, 5), _pool(), _conv(32, 5, padding="same"), _pool(), _flatten(), _dense(15)),
            batch_size=64,
        ),
        Network(
            "lenet",
            "LeNet, 28×28×1",
            "elec576_a2",
            (28, 28, 1),
            (
                _conv(32, 5, padding="same", name="conv1"),
                _pool(padding="same", name="pool1"),
                _conv(64, 5, padding="same", name="conv2"),
                _pool(padding="same", name="pool2"),
                _flatten(name="flatten"),
                _dense(1024, activation="tanh", name="fc1"),
                {"type": "dropout", "rate": 0.5, "name": "dropout"},
                _dense(10, name="predictions"),
            ),
            batch_size=50,
        ),
        Network(
            "cats_dogs_cnn",
            "Cats-vs-dogs CNN, 200×200×1",
            "cs577_hw4",
            (200, 200, 1),
            (
                _conv(32, 3, name="conv1"),
                _pool(name="pool1"),
                _conv(64, 3, name="conv2"),
                _pool(name="pool2"),
                _flatten(name="flatten"),
                _dense(32, name="dense"),
                _dense(1, name="output"),
            ),
            batch_size=32,
        ),
        Network(
            "cifar_baseline",
            "CIFAR-10 baseline, 32×32×3",
            "cs577_hw4",
            (32, 32, 3),
            (
                _conv(32, 5, padding="same", name="conv1"),
                _conv(64, 3, padding="same", name="conv2"),
                _conv(64, 3, padding="same", name="conv3"),
                _conv(128, 3, padding="same", name="conv4"),
                {"type": "batchnorm", "name": "batchnorm"},
                {"type": "dropout", "rate": 0.25, "name": "dropout"},
                _flatten(name="flatten"),
                _dense(10, name="predictions"),
            ),
            batch_size=32,
        ),
        Network(
            "vgg16",
            "VGG16, 224×224×3",
            "cs577_hw4",
            (224, 224, 3),
            (*VGG16_BASE, _flatten(name="flatten"), _dense(4096, name="fc1"), _dense(4096, name="fc2"), _dense(1000, name="predictions")),
            batch_size=32,
        ),
    )
}

REPORTED: tuple[Reported, ...] = (
    Reported("elec576_a2", "CIFAR-10 gray 28×28, 8,000 train", "LeNet, sigmoid", 0.10),
    Reported("elec576_a2", "CIFAR-10 gray 28×28, 8,000 train", "LeNet, best of its comparisons", 0.52),
    Reported("elec576_a2", "MNIST rows, 128 units, RMSProp 1e-3", "RNN", 0.95),
    Reported("elec576_a2", "MNIST rows, 128 units, RMSProp 1e-3", "LSTM", 0.980),
    Reported("elec576_a2", "MNIST rows, 128 units, RMSProp 1e-3", "GRU", 0.976),
    Reported("elec576_a2", "MNIST rows, 128 units, RMSProp 1e-3", "CNN", 0.986),
    Reported("cs577_hw4", "CIFAR-10 colour", "baseline", 0.736),
    Reported("cs577_hw4", "CIFAR-10 colour", "baseline + inception", 0.736),
    Reported("cs577_hw4", "CIFAR-10 colour", "baseline + residual", 0.748),
    Reported("transfer_hand_signs", "hand signs, 6 classes, 64×64", "VGG16 frozen + dense head, 20 epochs", 0.983),
    Reported("data_ml_200_ex5", "15 acoustic scenes, 40 mel bands × 501 frames", "Random forest, 10 trees", 0.515),
    Reported("data_ml_200_ex5", "15 acoustic scenes, 40 mel bands × 501 frames", "Random forest, 50 trees", 0.583),
    Reported("data_ml_200_ex5", "15 acoustic scenes, 40 mel bands × 501 frames", "Random forest, 100 trees", 0.595),
    Reported("data_ml_200_ex5", "15 acoustic scenes, 40 mel bands × 501 frames", "CNN (conv 5×5×32 ×2, early stopping)", 0.449),
    Reported("data_ml_200_ex5", "15 acoustic scenes, 40 mel bands × 501 frames", "LSTM(32), all timesteps → flatten", 0.589),
)


def network(key: str) -> Network:
    """The homework network with this key; ``ValueError`` lists the keys otherwise."""
    if key not in NETWORKS:
        raise ValueError(f"unknown network {key!r}; choose one of {', '.join(NETWORKS)}")
    return NETWORKS[key]


def reported(homework: str, *, data: str | None = None) -> list[Reported]:
    """The figures one homework reported (optionally only those on one dataset), in table order."""
    if homework not in HOMEWORK:
        raise ValueError(f"unknown homework {homework!r}; choose one of {', '.join(HOMEWORK)}")
    return [entry for entry in REPORTED if entry.homework == homework and (data is None or entry.data == data)]


def reported_rows(homework: str, *, data: str | None = None) -> list[dict[str, Any]]:
    """A homework's reported figures as table rows that say whose they are."""
    return [
        {"reported by": entry.source.name, "data": entry.data, "model": entry.model, "reported test accuracy": entry.test_accuracy}
        for entry in reported(homework, data=data)
    ]
