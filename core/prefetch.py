"""Fetch everything DL Lab can use before class: ``python -m core.prefetch``.

Online, it downloads into the Keras cache (``$KERAS_HOME``, default ``~/.keras``) whatever is
not already there or in the data directory: MNIST, CIFAR-10, the VGG16 ImageNet weights (with
and without the classifier top), the Free Spoken Digit Dataset and TensorFlow's flower photos
(an image set for the transfer page). Every download is checked against its official checksum
and can come from a classroom mirror (``DLLAB_MIRROR``); ``--serve`` makes this machine that
mirror. It prints a table saying, for each item, whether it was present (and where), fetched
(and from where), or failed (and why). Offline, or with ``DLLAB_OFFLINE=1``, it downloads
nothing and says what is missing and exactly where to put each file by hand. ``--check``
reports without downloading.

The presence checks are the loaders' own ``locate_*`` functions, called with the Keras home and
the data directory, so they are tested without any network and can never drift from the pages:
a file reported present here is the file the pages read.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core import download, mirror, settings
from core.datasets import audio, cifar, flowers, mnist
from core.datasets.base import Location
from core.datasets.keras_source import OFFLINE_ENV, keras_home, network_available, unreachable_mirror_note
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
FLOWERS_FOLDER = flowers.FLOWERS_FOLDER
FLOWERS_ORIGIN = download.FLOWERS_ORIGIN

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
    remote: str | None = None  # its file in core.download.KNOWN_FILES: checked, mirrored and served by --serve


@dataclass(frozen=True)
class ItemStatus:
    """The outcome for one item: present, fetched, failed, missing or not needed, with details."""

    item: Item
    state: str
    location: str = ""
    detail: str = ""
    source: str = ""  # where a fetched item came from: "mirror http://…/" or "origin storage.googleapis.com"

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


def find_flowers(keras_root: Path, data_dir: Path | None) -> Found:
    """The flower photos where the image loaders read them (:func:`core.datasets.flowers.locate_flowers`)."""
    return flowers.locate_flowers(data_dir, keras_root / "datasets")


# ---------------------------------------------------------------------------------------------
# Fetchers: each downloads through core.download (checked, resumed, from the mirror when set), with progress


def fetch_mnist() -> None:
    """Download MNIST into the Keras cache (``datasets/mnist.npz``), checked against its official checksum."""
    mnist.download_mnist(on_progress=print_progress)


def fetch_cifar10() -> None:
    """Download CIFAR-10 (about 170 MB, checked) and unpack its batches into the Keras cache."""
    cifar.download_cifar10(on_progress=print_progress)


def fetch_vgg16(include_top: bool) -> Callable[[], None]:
    """A fetcher for VGG16's ImageNet weights (checked against Keras' MD5), with or without the classifier top."""
    remote = download.VGG16_FULL_WEIGHTS if include_top else download.VGG16_NOTOP_WEIGHTS

    def fetch() -> None:
        download.fetch(download.KNOWN_FILES[remote.name], keras_home() / "models" / remote.name, on_progress=print_progress)
        if include_top:  # the top-5 demo names its classes from Keras' class index
            names = download.KNOWN_FILES[download.IMAGENET_CLASS_INDEX.name]
            download.fetch(names, keras_home() / "models" / names.name, on_progress=print_progress)

    return fetch


def print_progress(progress: download.DownloadProgress) -> None:
    """One line on the terminal, rewritten in place: "  42% 71.6 of 170.5 MB, 9.8 MB/s from origin www.cs.toronto.edu"."""
    share = f"{progress.fraction:4.0%} " if progress.fraction is not None else ""
    end = "\n" if progress.fraction is not None and progress.fraction >= 1 else ""
    print(f"\r  {share}{progress.describe()} from {progress.source}", end=end, file=sys.stderr, flush=True)


def fetch_fsdd() -> None:
    """Download FSDD's release archive (checked) and unpack its recordings into the Keras cache, as the audio page does."""
    audio.download_fsdd(on_progress=print_progress)


def fetch_flowers() -> None:
    """Download TensorFlow's flower photos (about 229 MB, checked) and unpack them into the Keras cache."""
    flowers.download_flowers(on_progress=print_progress)


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
        download.MNIST.name,
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
        download.CIFAR10.name,
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
        download.VGG16_NOTOP_WEIGHTS.name,
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
        download.VGG16_FULL_WEIGHTS.name,
    ),
    Item(
        "fsdd",
        "Free Spoken Digit Dataset",
        "audio models",
        "12 MB",
        find_fsdd,
        fetch_fsdd,
        f"extract {FSDD_ORIGIN}; put its recordings/ folder in the data directory as {FSDD_FOLDER}/",
        "the audio page uses synthetic sounds instead",
        download.FSDD.name,
    ),
    Item(
        "flowers",
        "TensorFlow flower photos",
        "transfer learning",
        "229 MB",
        find_flowers,
        fetch_flowers,
        f"extract {FLOWERS_ORIGIN}; put its {FLOWERS_FOLDER}/ folder (one subfolder per class) in the data directory, "
        f"or at $KERAS_HOME/datasets/{FLOWERS_FOLDER}/",
        "the transfer page opens on its offline digits demo instead",
        download.FLOWERS.name,
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
                    status = ItemStatus(item, FETCHED, f"{found.where}: {found.path}", source=fetched_from(item))
        statuses.append(status)
    return statuses


def fetched_from(item: Item) -> str:
    """Where a fetch of ``item`` comes from: the mirror or the official host."""
    if item.remote is not None:
        return download.source_label(download.KNOWN_FILES[item.remote])
    return "origin"


def format_table(statuses: Sequence[ItemStatus]) -> str:
    """The statuses as an aligned plain-text table: item, state, where, source, used by, notes."""
    header = ("item", "state", "where", "source", "used by", "notes")
    rows = [
        (s.item.name, s.state, s.location or "-", s.source or ("-" if s.state != PRESENT else "already here"), s.item.used_by, s.detail or "")
        for s in statuses
    ]
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


# ---------------------------------------------------------------------------------------------
# Serving the prefetched files to a classroom (--serve)


def served_files(keras_root: Path, data_dir: Path | None) -> tuple[dict[str, Path], list[str]]:
    """The files a mirror can serve (official name -> path), and why each other known file is not served.

    A file is served only when it matches its official checksum: students' downloads check it
    anyway, so a subset or a damaged copy would only be refused on forty laptops.
    """
    datasets, models = keras_root / "datasets", keras_root / "models"
    candidates: dict[str, list[Path]] = {
        download.MNIST.name: [datasets / download.MNIST.name],
        # Keras' own cifar10.load_data() keeps the same archive under the folder's name.
        download.CIFAR10.name: [datasets / download.CIFAR10.name, datasets / f"{CIFAR_FOLDER}.tar.gz"],
        download.VGG16_NOTOP_WEIGHTS.name: [models / download.VGG16_NOTOP_WEIGHTS.name],
        download.VGG16_FULL_WEIGHTS.name: [models / download.VGG16_FULL_WEIGHTS.name],
        download.IMAGENET_CLASS_INDEX.name: [models / download.IMAGENET_CLASS_INDEX.name],
        download.FSDD.name: [datasets / download.FSDD.name],
        download.FLOWERS.name: [datasets / download.FLOWERS.name],
    }
    if data_dir is not None:
        for name in (download.MNIST.name, download.CIFAR10.name, download.FSDD.name, download.FLOWERS.name):
            candidates[name].append(data_dir / name)
    served: dict[str, Path] = {}
    not_served: list[str] = []
    for name, paths in candidates.items():
        remote = download.KNOWN_FILES[name]
        present = [path for path in paths if path.is_file()]
        good = next((path for path in present if download.verify(path, remote.checksum)), None)
        if good is not None:
            served[name] = good
        elif present:
            not_served.append(f"{name}: {present[0]} does not match the official checksum (a subset or a damaged copy)")
        else:
            not_served.append(f"{name}: not prefetched")
    return served, not_served


def serve(*, host: str, port: int, keras_root: Path | None = None, data_dir: Path | None = None, announce: Callable[[str], None] = print) -> mirror.MirrorServer | None:
    """Start the classroom mirror in the background and say what it serves and the line to give students."""
    keras_root = keras_root if keras_root is not None else keras_home()
    files, not_served = served_files(keras_root, data_dir)
    if not files:
        announce("Nothing to serve: run `python -m core.prefetch` first, while online.")
        for reason in not_served:
            announce(f"  - {reason}")
        return None
    server = mirror.start(files, host=host, port=port)
    bound_port = server.server_address[1]
    address = mirror.room_address() if host in ("0.0.0.0", "") else host
    announce(f"Serving {len(files)} file(s), read-only, at http://{address}:{bound_port}/ :")
    for name, path in files.items():
        announce(f"  {name}  ({path.stat().st_size / 1e6:,.1f} MB, checksum verified)  from {path}")
    for reason in not_served:
        announce(f"  not served: {reason}")
    announce("\nGive students this line (they put it before `streamlit run app.py` or `python -m core.prefetch`):")
    announce(f"  {download.MIRROR_ENV}=http://{address}:{bound_port}/")
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; exits 0 when every item the app can use is present or was fetched."""
    parser = argparse.ArgumentParser(prog="python -m core.prefetch", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only report what is present; download nothing")
    parser.add_argument("--serve", action="store_true", help="serve the prefetched files read-only to the room (a mirror for DLLAB_MIRROR)")
    parser.add_argument("--port", type=int, default=mirror.DEFAULT_PORT, help=f"the mirror's port (default {mirror.DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--host", default="0.0.0.0", help="the address to listen on (default: every interface, so the room can reach it)")
    parser.add_argument(
        "--only", nargs="+", metavar="ITEM", choices=[item.key for item in ITEMS], help="limit to these items"
    )
    args = parser.parse_args(argv)
    if args.serve:
        server = serve(host=args.host, port=args.port, data_dir=settings.data_dir())
        if server is None:
            return 1
        try:
            threading.Event().wait()  # until Ctrl-C
        except KeyboardInterrupt:
            server.shutdown()
        return 0
    items = [item for item in ITEMS if not args.only or item.key in args.only]
    keras_root, data_dir = keras_home(), settings.data_dir()
    online = False if args.check else network_available()
    if not args.check and not online:
        reason = unreachable_mirror_note() or f"Offline (no answer from the download hosts, or {OFFLINE_ENV}=1)."
        print(f"{reason.rstrip('.')}: nothing will be downloaded.\n")
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
