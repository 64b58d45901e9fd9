"""TensorFlow's flower photos: a real image set for the transfer page, found on disk or downloaded and checked.

``flower_photos.tgz`` (229 MB, the archive TensorFlow's image-classification and
transfer-learning tutorials use) holds ``flower_photos/<class>/*.jpg``: 3,670 photos of five
classes (daisy, dandelion, roses, sunflowers, tulips) and a ``LICENSE.txt`` crediting each photo.
It downloads through :func:`core.download.fetch`, checked against TensorFlow Datasets' published
checksum, so a classroom mirror can serve it.

The folder is one subfolder of images per class, the layout
:func:`core.datasets.images.load_image_folder` reads, so a page turns it into a dataset with
``load_image_folder(locate_flowers(data_dir, keras_datasets_dir()).path, ...)``; this module only
finds and fetches it (:mod:`core.datasets.images` re-exports both). Nothing here imports
TensorFlow or Keras.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from core import download
from core.datasets.archives import unpack_selected
from core.datasets.base import Location
from core.datasets.keras_source import keras_datasets_dir

FLOWERS_FOLDER = "flower_photos"  # the archive's own top folder: in the data directory and the Keras cache alike
FLOWER_CLASSES = ("daisy", "dandelion", "roses", "sunflowers", "tulips")
PHOTO_SUFFIXES = (".jpg", ".jpeg")
# Fewer classes cannot train a classifier (an interrupted copy); fewer than five is a teacher's own subset, kept.
MIN_CLASSES = 2


def _classes_with_photos(folder: Path) -> list[str]:
    classes = []
    for child in sorted(folder.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            if any(path.suffix.lower() in PHOTO_SUFFIXES for path in child.iterdir() if path.is_file()):
                classes.append(child.name)
    return classes


def _check_folder(folder: Path, where: str) -> Location:
    if not folder.is_dir():
        return Location(None)
    classes = _classes_with_photos(folder)
    if len(classes) >= MIN_CLASSES:
        return Location(folder, where)
    return Location(
        None,
        problem=f"{folder} has {len(classes)} class folder(s) with JPEG photos; flower_photos/ has one subfolder "
        f"per class ({', '.join(FLOWER_CLASSES)}), an interrupted copy has fewer",
    )


def locate_flowers(data_dir: Path | None, keras_datasets: Path) -> Location:
    """Where the ``flower_photos/`` folder of class subfolders is: the data directory, then ``keras_datasets``.

    A ``flower_photos/`` folder with fewer than two classes of photos is not used; ``problem`` says why.
    """
    problems = []
    for folder, where in ((data_dir / FLOWERS_FOLDER if data_dir is not None else None, "data directory"),
                          (keras_datasets / FLOWERS_FOLDER, "Keras cache")):
        if folder is None:
            continue
        found = _check_folder(folder, where)
        if found.path is not None:
            return found
        if found.problem:
            problems.append(found.problem)
    return Location(None, problem="; ".join(problems))


def download_flowers(on_progress: Callable[[download.DownloadProgress], None] | None = None) -> Path:
    """Download ``flower_photos.tgz`` (checked) into the Keras cache and unpack its photos; returns ``flower_photos/``.

    Only ``flower_photos/<class>/<photo>.jpg`` regular files are unpacked (no licence file, no
    links, nothing outside), into ``$KERAS_HOME/datasets/flower_photos/``, all at once. The archive
    stays beside it, where ``python -m core.prefetch --serve`` finds it for a classroom mirror.
    Raises :class:`~core.download.DownloadError` when the download fails, with the reason and what
    to do by hand, and :class:`~core.datasets.DatasetError` when the archive holds no photos.
    """
    datasets = keras_datasets_dir()
    archive = download.fetch(download.FLOWERS, datasets / download.FLOWERS.name, on_progress=on_progress)
    found = locate_flowers(None, datasets).path
    if found is None:
        found = datasets / FLOWERS_FOLDER
        unpack_selected(archive, found, _flower_photo, expected="flower_photos/<class>/*.jpg photos")
    return found


def _flower_photo(member: PurePosixPath) -> PurePosixPath | None:
    # "flower_photos/roses/123.jpg" -> "roses/123.jpg"; LICENSE.txt and anything deeper stay in the archive.
    if len(member.parts) == 3 and member.parts[0] == FLOWERS_FOLDER and member.suffix.lower() in PHOTO_SUFFIXES:
        return PurePosixPath(*member.parts[1:])
    return None
