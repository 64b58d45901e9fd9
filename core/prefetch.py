"""Fetch everything DL Lab can use before class: ``python -m core.prefetch``.

Online, it downloads into the Keras cache (``$KERAS_HOME``, default ``~/.keras``) whatever is
not already there or in the data directory: MNIST, CIFAR-10, the VGG16 ImageNet weights (with
and without the classifier top) and the Free Spoken Digit Dataset. It prints a table saying, for
each item, whether it was present (and where), fetched, or failed (and why). Offline, or with
``DLLAB_OFFLINE=1``, it downloads nothing and says what is missing and exactly where to put each
file by hand. ``--check`` reports without downloading.

The presence checks are the loaders' own ``locate_*`` functions, called with the Keras home and
the data directory, so they are tested without any network and can never drift from the pages:
a file reported present here is the file the pages read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core import settings
from core.datasets import audio, cifar, mnist
from core.datasets.base import Location
from core.datasets.keras_source import OFFLINE_ENV, keras_home, network_available
from core.transfer import weights

PRESENT, FETCHED, FAILED, MISSING, OPTIONAL = "present", "fetched", "failed", "missing", "not needed"

# The loaders' names, kept here for the instructions below and for older callers.
MNIST_FILE = mnist.NPZ_FILE
CIFAR_FOLDER = cifar.BATCHES_FOLDER
CIFAR_TRAIN_BATCHES = cifar.TRAIN_BATCHES
GRAY_CIFAR_FOLDER = cifar.GRAY_FOLDERS[0]
VGG16_NOTOP_FILE = weights.NOTOP_WEIGHTS_FILE
VGG16_FULL_FILE = weights.FULL_WEIGHTS_FILE
FSDD_FOLDER = audio.FSDD_FOLDER
VGG16_NOTOP_MIN_BYTES = weights.NOTOP_MIN_BYTES
VGG16_FULL_MIN_BYTES = weights.FULL_MIN_BYTES
VGG16_WEIGHTS_ENV = weights.WEIGHTS_ENV  # the transfer page's own setting for a no-top weights file
HDF5_SIGNATURE = weights.HDF5_SIGNATURE

MNIST_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
CIFAR_ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
VGG16_ORIGIN_FOLDER = weights.WEIGHTS_ORIGIN_FOLDER
FSDD_ORIGIN = audio.FSDD_ORIGIN

# Where an item was found, or why what is there cannot be used: exactly what the loader's locate function says.
Found = Location

Finder = Callable[[Path, "Path | None"], Found]


@dataclass(frozen=True)
class Item:
    """One thing the app can use: how to find it, fetch it, and supply it by hand."""

    key: str
    name: str
    used_by: str
    size: str
    find: Finder
    fetch: Callable[[], None] | None
    by_hand: str
    fallback: str


@dataclass(frozen=True)
class ItemStatus:
    """The outcome for one item: present, fetched, failed, missing or not needed, with details."""

    item: Item
    state: str
    location: str = ""
    detail: str = ""

    @property
    def usable(self) -> bool:
        """True when the app can use the real thing (or does not need it)."""
        return self.state in (PRESENT, FETCHED, OPTIONAL)


# ---------------------------------------------------------------------------------------------
# Presence checks: the loaders' locate functions, given (Keras home, data directory)


def find_mnist(keras_root: Path, data_dir: Path | None) -> Found:
    """MNIST where the MNIST loader reads it (:func:`core.datasets.mnist.locate_mnist`)."""
    return mnist.locate_mnist(data_dir, keras_root / "datasets")


def find_cifar10(keras_root: Path, data_dir: Path | None) -> Found:
    """Colour CIFAR-10 where the CIFAR loader reads it (:func:`core.datasets.cifar.locate_cifar10`)."""
    return cifar.locate_cifar10(data_dir, keras_root / "datasets")


def find_gray_cifar(keras_root: Path, data_dir: Path | None) -> Found:
    """The ELEC 576 gray CIFAR-10 folders where the gray loader reads them (:func:`core.datasets.cifar.locate_gray_cifar`)."""
    return cifar.locate_gray_cifar(data_dir)


def find_vgg16_notop(keras_root: Path, data_dir: Path | None) -> Found:
    """VGG16's no-top ImageNet weights where the transfer page loads them (:func:`core.transfer.weights.locate_vgg16_weights`)."""
    return weights.locate_vgg16_weights(keras_root / "models")


def find_vgg16_full(keras_root: Path, data_dir: Path | None) -> Found:
    """VGG16's full ImageNet weights where the ImageNet demo loads them (:func:`core.transfer.weights.locate_vgg16_weights`)."""
    return weights.locate_vgg16_weights(keras_root / "models", include_top=True)


def find_fsdd(keras_root: Path, data_dir: Path | None) -> Found:
    """FSDD's recordings where the audio loader reads them (:func:`core.datasets.audio.locate_fsdd`)."""
    return audio.locate_fsdd(data_dir, keras_root / "datasets")


# ---------------------------------------------------------------------------------------------
# Fetchers: each imports Keras only when it actually downloads


def fetch_mnist() -> None:
    """Download MNIST into the Keras cache (``datasets/mnist.npz``)."""
    import keras

    keras.datasets.mnist.load_data()


def fetch_cifar10() -> None:
    """Download and extract CIFAR-10 into the Keras cache (about 170 MB)."""
    import keras

    keras.datasets.cifar10.load_data()


def fetch_vgg16(include_top: bool) -> Callable[[], None]:
    """A fetcher for VGG16's ImageNet weights, with or without the classifier top."""

    def fetch() -> None:
        import keras

        keras.applications.VGG16(weights="imagenet", include_top=include_top)
        keras.backend.clear_session()  # the model was only built to pull its weights into the cache

    return fetch


def fetch_fsdd() -> None:
    """Download and extract the FSDD release archive into the Keras cache, as the audio page does."""
    from core.datasets.audio import download_fsdd

    download_fsdd()


ITEMS: tuple[Item, ...] = (
    Item(
        "mnist",
        "MNIST",
        "RNN vs LSTM vs GRU",
        "11 MB",
        find_mnist,
        fetch_mnist,
        f"put {MNIST_FILE} (from {MNIST_ORIGIN}) in the data directory, or at $KERAS_HOME/datasets/{MNIST_FILE}",
        "pages use scikit-learn's 8×8 digits instead",
    ),
    Item(
        "cifar10",
        "CIFAR-10",
        "CIFAR CNN, feature maps",
        "170 MB",
        find_cifar10,
        fetch_cifar10,
        f"extract {CIFAR_ORIGIN}; put its {CIFAR_FOLDER}/ folder in the data directory, "
        f"or at $KERAS_HOME/datasets/{CIFAR_FOLDER}/",
        "pages use upscaled 8×8 digits instead",
    ),
    Item(
        "cifar10-gray28",
        "CIFAR-10 gray 28×28 (ELEC 576)",
        "CIFAR CNN",
        "8 MB",
        find_gray_cifar,
        None,
        f"put the course's folder as {GRAY_CIFAR_FOLDER}/{{Train,Test}}/<class>/*.png in the data directory",
        "the gray page makes it from CIFAR-10 (grayscale, resized to 28×28)",
    ),
    Item(
        "vgg16-notop",
        "VGG16 ImageNet weights, no top",
        "transfer learning, feature maps",
        "59 MB",
        find_vgg16_notop,
        fetch_vgg16(include_top=False),
        f"download {VGG16_ORIGIN_FOLDER}{VGG16_NOTOP_FILE} to $KERAS_HOME/models/{VGG16_NOTOP_FILE} "
        f"(or anywhere, and set {VGG16_WEIGHTS_ENV} to its path)",
        "transfer learning starts from a small CNN trained here instead",
    ),
    Item(
        "vgg16-full",
        "VGG16 ImageNet weights, full",
        "transfer learning (ImageNet top-5)",
        "553 MB",
        find_vgg16_full,
        fetch_vgg16(include_top=True),
        f"download {VGG16_ORIGIN_FOLDER}{VGG16_FULL_FILE} to $KERAS_HOME/models/{VGG16_FULL_FILE}",
        "the ImageNet top-5 demo says the weights are missing",
    ),
    Item(
        "fsdd",
        "Free Spoken Digit Dataset",
        "audio models",
        "10 MB",
        find_fsdd,
        fetch_fsdd,
        f"extract {FSDD_ORIGIN}; put its recordings/ folder in the data directory as {FSDD_FOLDER}/",
        "the audio page uses synthetic sounds instead",
    ),
)


# ---------------------------------------------------------------------------------------------
# Checking, fetching and reporting


def check_item(item: Item, keras_root: Path, data_dir: Path | None) -> ItemStatus:
    """Present (with where) or missing (with why, when something unusable is in the way); never downloads."""
    found = item.find(keras_root, data_dir)
    if found.path is not None:
        return ItemStatus(item, PRESENT, f"{found.where}: {found.path}", found.problem)
    if item.fetch is None:
        return ItemStatus(item, OPTIONAL, "", "optional: " + item.fallback)
    return ItemStatus(item, MISSING, "", found.problem)


def check_all(keras_root: Path | None = None, data_dir: Path | None = None, items: Sequence[Item] = ITEMS) -> list[ItemStatus]:
    """The status of every item without downloading anything (Keras home and data dir default to the app's)."""
    keras_root = keras_root if keras_root is not None else keras_home()
    return [check_item(item, keras_root, data_dir) for item in items]


def prefetch(
    *,
    online: bool,
    keras_root: Path | None = None,
    data_dir: Path | None = None,
    items: Sequence[Item] = ITEMS,
    announce: Callable[[str], None] = print,
) -> list[ItemStatus]:
    """Check every item and, when ``online``, fetch the missing ones; one failure never stops the rest."""
    keras_root = keras_root if keras_root is not None else keras_home()
    statuses = []
    for status in check_all(keras_root, data_dir, items):
        item = status.item
        if status.state == MISSING and online and item.fetch is not None:
            announce(f"Fetching {item.name} (about {item.size})…")
            try:
                item.fetch()
            except Exception as error:  # noqa: BLE001 - any download or disk error is reported, not raised
                status = ItemStatus(item, FAILED, "", f"{type(error).__name__}: {error}")
            else:
                found = item.find(keras_root, data_dir)
                if found.path is None:
                    status = ItemStatus(item, FAILED, "", f"the download finished but nothing usable is at the expected place ({found.problem or item.by_hand})")
                else:
                    status = ItemStatus(item, FETCHED, f"{found.where}: {found.path}")
        statuses.append(status)
    return statuses


def format_table(statuses: Sequence[ItemStatus]) -> str:
    """The statuses as an aligned plain-text table: item, state, where, used by, notes."""
    header = ("item", "state", "where", "used by", "notes")
    rows = [(s.item.name, s.state, s.location or "-", s.item.used_by, s.detail or "") for s in statuses]
    widths = [max(len(header[column]), *(len(row[column]) for row in rows)) for column in range(len(header))]
    lines = [" | ".join(text.ljust(width) for text, width in zip(header, widths)).rstrip()]
    lines.append("-+-".join("-" * width for width in widths))
    lines += [" | ".join(text.ljust(width) for text, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines)


def missing_instructions(statuses: Sequence[ItemStatus], keras_root: Path, data_dir: Path | None) -> str:
    """How to supply each missing or failed item by hand, with exact names and folders; empty when none."""
    needed = [status for status in statuses if status.state in (MISSING, FAILED)]
    if not needed:
        return ""
    optional = [status for status in statuses if status.state == OPTIONAL]
    data_note = str(data_dir) if data_dir is not None else f"not set: choose a folder and set {settings.DATA_DIR_ENV}"
    lines = [
        "To supply the missing items by hand (download them on a machine with a network, then copy):",
        f"  data directory = {data_note}",
        f"  $KERAS_HOME    = {keras_root}",
    ]
    for status in needed:
        lines.append(f"- {status.item.name}: {status.item.by_hand}.")
        lines.append(f"    Until then {status.item.fallback}.")
    for status in optional:
        lines.append(f"- Optional, {status.item.name}: {status.item.by_hand}.")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exits 0 when every item the app can use is present or was fetched."""
    parser = argparse.ArgumentParser(prog="python -m core.prefetch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what is present; download nothing")
    parser.add_argument(
        "--only", nargs="+", metavar="ITEM", choices=[item.key for item in ITEMS], help="limit to these items"
    )
    args = parser.parse_args(argv)
    items = [item for item in ITEMS if not args.only or item.key in args.only]
    keras_root, data_dir = keras_home(), settings.data_dir()
    online = False if args.check else network_available()
    if not args.check and not online:
        print(
            f"Offline (no answer from the download hosts, or {OFFLINE_ENV}=1): nothing will be downloaded.\n"
        )
    statuses = prefetch(online=online, keras_root=keras_root, data_dir=data_dir, items=items)
    print(format_table(statuses))
    instructions = missing_instructions(statuses, keras_root, data_dir)
    if instructions:
        print("\n" + instructions)
        return 1
    print("\nEverything the app can use is here.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
