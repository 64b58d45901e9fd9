"""Image-folder datasets: one subfolder per class, from a local path or an uploaded ``.zip``.

A folder such as ``cats-vs-dogs-small/{cats,dogs}/*.jpg`` becomes a :class:`Dataset` with a
stratified train / validation / test split (fixed seed), every image resized to a square input
size in RGB or grayscale. Files that are not images are counted and skipped; images that cannot
be decoded (corrupt, truncated, a text file renamed ``.png``) are skipped and reported by name.
A folder that cannot train (one class, or a class with fewer than five images) raises
:class:`~core.datasets.DatasetError`, a ``ValueError`` whose message the page shows as is.

Decoded folders are kept in the disk cache keyed by the files' names, sizes and modification
times, so the 600 JPEGs of the shared cats-vs-dogs subset are decoded once per input size.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.cache import cached_arrays, stable_hash
from core.datasets import Dataset, DatasetError, register_loader
from core.uploads import IMAGE_SUFFIXES, MAX_ZIP_BYTES, MAX_ZIP_FILES, Source, UploadError, open_image, safe_extract_zip

MIN_IMAGES_PER_CLASS = 5
COLOR_MODES = ("rgb", "grayscale")
CATS_VS_DOGS_FOLDER = "cats-vs-dogs-small"
_FOLDER_NAMESPACE = "image-folders"


@dataclass(frozen=True)
class FolderScan:
    """The class folders found under a root, their image files, and what was not an image."""

    root: Path
    class_names: tuple[str, ...]
    files: tuple[tuple[Path, ...], ...]
    non_image_files: int

    @property
    def counts(self) -> dict[str, int]:
        """Image files per class (before decoding, so corrupt files are still counted)."""
        return {name: len(paths) for name, paths in zip(self.class_names, self.files)}


def scan_image_folder(root: Path | str) -> FolderScan:
    """List the class subfolders of ``root`` and their image files (by suffix), sorted by name."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder; give a folder with one subfolder of images per class")
    class_dirs = sorted(child for child in root.iterdir() if child.is_dir() and not _hidden(child.name))
    if not class_dirs:
        raise DatasetError(
            f"{root} has no subfolders; put each class's images in its own subfolder, e.g. {root}/cats and {root}/dogs"
        )
    files: list[tuple[Path, ...]] = []
    non_images = 0
    for class_dir in class_dirs:
        found = []
        for folder, subfolders, names in os.walk(class_dir):
            subfolders[:] = sorted(name for name in subfolders if not _hidden(name))
            for name in sorted(names):
                if _hidden(name):
                    continue
                path = Path(folder) / name
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    found.append(path)
                else:
                    non_images += 1
        files.append(tuple(found))
    return FolderScan(root, tuple(d.name for d in class_dirs), tuple(files), non_images)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def check_trainable(counts: dict[str, int], *, where: str) -> None:
    """Refuse a folder that cannot train: fewer than two classes, or a class with fewer than five images."""
    usable = {name: count for name, count in counts.items() if count > 0}
    if len(usable) < 2:
        found = ", ".join(f"{name} ({count})" for name, count in counts.items()) or "none"
        raise DatasetError(
            f"{where} needs at least two class subfolders with images to classify; found {found}. "
            "Add a second class folder."
        )
    small = {name: count for name, count in counts.items() if count < MIN_IMAGES_PER_CLASS}
    if small:
        listed = ", ".join(f"{name!r} has {count}" for name, count in small.items())
        raise DatasetError(
            f"{where}: every class needs at least {MIN_IMAGES_PER_CLASS} images to be split into "
            f"train, validation and test; {listed}. Add images or remove that folder."
        )


def stratified_split(
    labels: np.ndarray, *, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of train, validation and test, drawing the same fractions from every class.

    Each class gives at least one test image (and one validation image when ``val_fraction`` > 0)
    and keeps at least one for training.
    """
    check_split_fractions(val_fraction, test_fraction)
    rng = np.random.default_rng(seed)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = len(members)
        n_test = max(1, int(round(count * test_fraction)))
        n_val = max(1, int(round(count * val_fraction))) if val_fraction > 0 else 0
        n_val = min(n_val, count - n_test - 1)
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test : n_test + n_val])
        parts[0].append(members[n_test + n_val :])
    return tuple(rng.permutation(np.concatenate(part)).astype(np.int64) for part in parts)  # type: ignore[return-value]


def check_split_fractions(val_fraction: float, test_fraction: float) -> None:
    """Validation and test fractions must leave at least half the data for training."""
    if not 0 < test_fraction <= 0.5:
        raise ValueError(f"test_fraction must be in (0, 0.5], got {test_fraction}")
    if not 0 <= val_fraction <= 0.5:
        raise ValueError(f"val_fraction must be in [0, 0.5], got {val_fraction}")
    if val_fraction + test_fraction > 0.5:
        raise ValueError(
            f"validation ({val_fraction:.0%}) and test ({test_fraction:.0%}) together exceed 50%; "
            "keep at least half the images for training"
        )


def decode_resized(source: Source, *, name: str, image_size: int, color: str = "rgb") -> np.ndarray:
    """One image decoded safely and resized to ``image_size``², as ``uint8`` ``(H, W, C)``."""
    if color not in COLOR_MODES:
        raise ValueError(f"color must be one of {COLOR_MODES}, got {color!r}")
    if not 8 <= image_size <= 1024:
        raise ValueError(f"image_size must be between 8 and 1024 pixels, got {image_size}")
    from PIL import Image

    image = open_image(source, name=name)
    # Palette and alpha images become plain RGB first, so "L" is true luminance.
    image = image.convert("RGB")
    if color == "grayscale":
        image = image.convert("L")
    image = image.resize((image_size, image_size), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array[..., np.newaxis] if array.ndim == 2 else array


def _decode_folder(scan: FolderScan, image_size: int, color: str) -> tuple[dict[str, np.ndarray], list[str]]:
    images, labels, corrupt = [], [], []
    for label, paths in enumerate(scan.files):
        for path in paths:
            shown = str(path.relative_to(scan.root))
            try:
                images.append(decode_resized(path, name=shown, image_size=image_size, color=color))
            except UploadError as error:
                corrupt.append(str(error))
                continue
            labels.append(label)
    channels = 1 if color == "grayscale" else 3
    x = np.stack(images) if images else np.zeros((0, image_size, image_size, channels), np.uint8)
    arrays = {"x": x, "y": np.asarray(labels, dtype=np.int64), "corrupt": np.asarray(corrupt, dtype=np.str_)}
    return arrays, corrupt


def _folder_key(scan: FolderScan, image_size: int, color: str) -> str:
    listing = []
    for name, paths in zip(scan.class_names, scan.files):
        for path in paths:
            info = path.stat()
            listing.append((name, str(path.relative_to(scan.root)), info.st_size, int(info.st_mtime_ns)))
    return stable_hash({"root": str(scan.root.resolve()), "files": listing, "size": image_size, "color": color})


def load_image_folder(
    root: Path | str,
    *,
    image_size: int = 64,
    color: str = "rgb",
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
    name: str | None = None,
    source: str | None = None,
    cache: bool = True,
) -> Dataset:
    """A class-per-subfolder image folder as a stratified train/validation/test :class:`Dataset`.

    ``extras`` holds ``corrupt`` (messages naming each undecodable image), ``non_image_files``
    (a count) and ``files_per_class``.
    """
    check_split_fractions(val_fraction, test_fraction)
    scan = scan_image_folder(root)
    check_trainable(scan.counts, where=str(scan.root))

    def compute() -> dict[str, np.ndarray]:
        return _decode_folder(scan, image_size, color)[0]

    if cache:
        arrays = cached_arrays(_FOLDER_NAMESPACE, _folder_key(scan, image_size, color), compute)
    else:
        arrays = compute()
    x, y = arrays["x"], arrays["y"]
    corrupt = tuple(str(message) for message in arrays["corrupt"])
    decoded = {name_: int(np.sum(y == index)) for index, name_ in enumerate(scan.class_names)}
    check_trainable(decoded, where=f"{scan.root} (after skipping {len(corrupt)} unreadable images)")
    train, val, test = stratified_split(y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    description = source or f"{sum(decoded.values()):,} images in {len(decoded)} class folders of {scan.root}"
    return Dataset(
        name=name or f"folder:{scan.root.name}",
        x_train=x[train],
        y_train=y[train],
        x_test=x[test],
        y_test=y[test],
        class_names=scan.class_names,
        source=description,
        x_val=x[val] if len(val) else None,
        y_val=y[val] if len(val) else None,
        extras={"corrupt": corrupt, "non_image_files": scan.non_image_files, "files_per_class": decoded},
    )


def load_image_zip(
    upload: Source,
    *,
    name: str = "upload.zip",
    max_files: int = MAX_ZIP_FILES,
    max_total_bytes: int = MAX_ZIP_BYTES,
    **options: Any,
) -> Dataset:
    """An uploaded zip of class subfolders, unpacked safely into a temporary folder and loaded.

    Path tricks, symlinks and oversize archives are refused by :func:`core.uploads.safe_extract_zip`;
    non-image members are skipped and counted with the folder's own non-image files.
    """
    data = upload if isinstance(upload, (bytes, bytearray)) else None
    if data is None:
        stream = open(upload, "rb") if isinstance(upload, (str, Path)) else upload
        try:
            data = stream.read()
        finally:
            if isinstance(upload, (str, Path)):
                stream.close()
    digest = hashlib.sha256(data).hexdigest()[:16]
    workspace = Path(tempfile.mkdtemp(prefix="dllab-zip-"))
    try:
        extraction = safe_extract_zip(
            bytes(data), workspace / "data", suffixes=IMAGE_SUFFIXES, max_files=max_files, max_total_bytes=max_total_bytes
        )
        root = _class_root(extraction.root)
        dataset = load_image_folder(
            root, name=f"zip:{Path(name).stem}-{digest}", source=None, cache=False, **options
        )
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    extras = dict(dataset.extras)
    extras["non_image_files"] += len(extraction.skipped)
    counts = extras["files_per_class"]
    described = f"{sum(counts.values()):,} images in {len(counts)} class folders of {name}"
    return Dataset(
        name=dataset.name,
        x_train=dataset.x_train,
        y_train=dataset.y_train,
        x_test=dataset.x_test,
        y_test=dataset.y_test,
        class_names=dataset.class_names,
        source=described,
        x_val=dataset.x_val,
        y_val=dataset.y_val,
        extras=extras,
    )


def _class_root(folder: Path) -> Path:
    """Step into a single wrapping folder (``data.zip`` holding ``data/cats``, ``data/dogs``)."""
    parent = None
    while True:
        children = [child for child in folder.iterdir() if not _hidden(child.name)]
        subfolders = [child for child in children if child.is_dir()]
        loose_images = [child for child in children if child.is_file()]
        if len(subfolders) == 1 and not loose_images:
            parent, folder = folder, subfolders[0]
            continue
        if not subfolders:
            if parent is not None and loose_images:
                return parent  # a single class folder: let the class check say so
            raise DatasetError(
                "the zip has no class subfolders; zip a folder that holds one subfolder of images per class"
            )
        return folder


# ---------------------------------------------------------------------------------------------
# Cats vs dogs, with an offline stand-in

PHOTO_PATCHES_SOURCE = (
    "Offline fallback, not cats and dogs: square patches cut at random from scikit-learn's two "
    "built-in sample photos (a Chinese temple and a flower), labelled by the photo they came from. "
    f"Put the `{CATS_VS_DOGS_FOLDER}/{{cats,dogs}}` folder in the data directory for the real thing."
)


def photo_patches(
    *, image_size: int = 64, color: str = "grayscale", per_class: int = 150, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Random square crops of the two photos bundled with scikit-learn, resized: a real two-class image set."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images  # two 427×640 RGB photos shipped inside the package
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label, photo in enumerate(photos):
        height, width = photo.shape[:2]
        for _ in range(per_class):
            side = int(rng.integers(min(height, width) // 4, min(height, width) // 2 + 1))
            top = int(rng.integers(0, height - side + 1))
            left = int(rng.integers(0, width - side + 1))
            patch = Image.fromarray(photo[top : top + side, left : left + side])
            if color == "grayscale":
                patch = patch.convert("L")
            array = np.asarray(patch.resize((image_size, image_size), Image.Resampling.BILINEAR), dtype=np.uint8)
            images.append(array[..., np.newaxis] if array.ndim == 2 else array)
            labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64)


@register_loader("cats_vs_dogs")
def load_cats_vs_dogs(
    *,
    data_dir: Path | None = None,
    image_size: int = 64,
    color: str = "grayscale",
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Dataset:
    """The shared ``cats-vs-dogs-small`` folder from the data directory, else two-photo patches (``is_fallback``)."""
    folder = data_dir / CATS_VS_DOGS_FOLDER if data_dir is not None else None
    if folder is not None and folder.is_dir():
        return load_image_folder(
            folder,
            image_size=image_size,
            color=color,
            val_fraction=val_fraction,
            test_fraction=test_fraction,
            seed=seed,
            name="cats_vs_dogs",
            source=f"Kaggle Dogs vs. Cats photos from {folder}",
        )
    x, y = photo_patches(image_size=image_size, color=color, seed=seed)
    train, val, test = stratified_split(y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    return Dataset(
        name="cats_vs_dogs",
        x_train=x[train],
        y_train=y[train],
        x_test=x[test],
        y_test=y[test],
        class_names=("temple", "flower"),
        source=PHOTO_PATCHES_SOURCE,
        is_fallback=True,
        x_val=x[val] if len(val) else None,
        y_val=y[val] if len(val) else None,
        extras={"corrupt": (), "non_image_files": 0, "files_per_class": {"temple": int((y == 0).sum()), "flower": int((y == 1).sum())}},
    )
