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
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core import budget, settings
from core.budget import WorkEstimate
from core.cache import DiskCache, cached_arrays, stable_hash
from core.datasets.base import (
    Dataset,
    DatasetError,
    check_split_fractions,
    made_once,
    register_loader,
    stratified_split,
)
# The transfer page's real image set lives in its own module; pages find it with the other image folders.
from core.datasets.flowers import FLOWERS_FOLDER, download_flowers, locate_flowers  # noqa: F401 - re-exported
from core.uploads import (
    IMAGE_SUFFIXES,
    MAX_ZIP_BYTES,
    MAX_ZIP_FILES,
    Source,
    UploadError,
    checked_members,
    image_header,
    open_image,
    open_zip,
    safe_extract_zip,
)

MIN_IMAGES_PER_CLASS = 5
# Per-class tables, confusion matrices and the softmax all grow with the class count; no course
# dataset here has more than ImageNet's 1,000.
MAX_CLASSES = 1000
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
    shown_as: str = ""  # how messages name the root: a data-directory folder's name or the upload's, never a server path

    @property
    def counts(self) -> dict[str, int]:
        """Image files per class (before decoding, so corrupt files are still counted)."""
        return {name: len(paths) for name, paths in zip(self.class_names, self.files)}

    @property
    def file_count(self) -> int:
        """Image files in all classes."""
        return sum(len(paths) for paths in self.files)


def scan_image_folder(root: Path | str, *, fence: Path | None = None, shown_as: str | None = None) -> FolderScan:
    """List the class subfolders of ``root`` and their image files (by suffix), sorted by name.

    With ``fence`` (the data directory), class folders and files whose real path leads outside it
    (a symlink to the server's other files) are left out, as if they were not there.
    """
    root = Path(root).expanduser()
    label = shown_as or root.name
    if not root.is_dir():
        raise DatasetError(f"{label} is not a folder; give a folder with one subfolder of images per class")

    def allowed(path: Path) -> bool:
        return fence is None or settings.is_inside(path, fence)

    class_dirs = sorted(child for child in root.iterdir() if child.is_dir() and not _hidden(child.name) and allowed(child))
    if not class_dirs:
        raise DatasetError(
            f"{label} has no subfolders; put each class's images in its own subfolder, e.g. {label}/cats and {label}/dogs"
        )
    if len(class_dirs) > MAX_CLASSES:
        raise DatasetError(
            f"{label} has {len(class_dirs):,} class folders; DL Lab's pages handle at most {MAX_CLASSES:,} classes"
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
                if path.suffix.lower() in IMAGE_SUFFIXES and allowed(path):
                    found.append(path)
                else:
                    non_images += 1
        files.append(tuple(found))
    return FolderScan(root, tuple(d.name for d in class_dirs), tuple(files), non_images, label)


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def check_trainable(counts: dict[str, int], *, where: str) -> None:
    """Refuse a folder that cannot train: fewer than two classes, or a class with fewer than five images."""
    usable = {name: count for name, count in counts.items() if count > 0}
    if len(usable) < 2:
        found = ", ".join(f"{name} ({count})" for name, count in list(counts.items())[:10]) or "none"
        raise DatasetError(
            f"{where} needs at least two class subfolders with readable images to classify; found {found}. "
            "Each class needs its own subfolder of images (PNG, JPEG, …)."
        )
    small = {name: count for name, count in counts.items() if count < MIN_IMAGES_PER_CLASS}
    if small:
        listed = ", ".join(f"{name!r} has {count}" for name, count in list(small.items())[:10])
        raise DatasetError(
            f"{where}: every class needs at least {MIN_IMAGES_PER_CLASS} images to be split into "
            f"train, validation and test; {listed}. Add images or remove that folder."
        )


def decode_resized(source: Source, *, name: str, image_size: int, color: str = "rgb") -> np.ndarray:
    """One image decoded safely and resized to ``image_size``², as ``uint8`` ``(H, W, C)``."""
    if color not in COLOR_MODES:
        raise ValueError(f"color must be one of {COLOR_MODES}, got {color!r}")
    if not 8 <= image_size <= 1024:
        raise ValueError(f"image_size must be between 8 and 1024 pixels, got {image_size}")
    from PIL import Image

    image = open_image(source, name=name, draft_size=image_size)
    # Shrink in the image's own mode first (a 7000² 1-bit PNG would be 147 MB as RGB), then
    # convert the small result: palette and alpha images become plain RGB, so "L" is true luminance.
    if image.mode not in ("1", "L", "RGB"):
        image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
    if image.mode == "1":
        image = image.convert("L")
    image = image.resize((image_size, image_size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    image = image.convert("RGB")
    if color == "grayscale":
        image = image.convert("L")
    array = np.asarray(image, dtype=np.uint8)
    return array[..., np.newaxis] if array.ndim == 2 else array


# ---------------------------------------------------------------------------------------------
# What decoding a folder will cost, from the files' headers alone

# Measured on this project's 2-core machine (Pillow 12): per file, and per source pixel by
# mode after JPEG's draft scaling; conservative by about 1.5×.
_SECONDS_PER_FILE = 0.0006
_SECONDS_PER_PIXEL = {"1": 3e-9, "L": 4e-9, "P": 5e-9, "RGB": 8e-9, "JPEG": 12e-9}
_DEFAULT_SECONDS_PER_PIXEL = 10e-9


@dataclass(frozen=True)
class DecodePlan:
    """What decoding a set of images into ``image_size``² arrays will cost, before any pixel is decoded."""

    files: int
    source_pixels: int
    image_size: int
    channels: int
    estimate: WorkEstimate

    @property
    def array_bytes(self) -> int:
        """The decoded ``uint8`` arrays of every image."""
        return self.files * self.image_size**2 * self.channels


def _decoded_pixels(width: int, height: int, image_format: str, image_size: int) -> int:
    """Pixels Pillow really decodes: JPEG's draft mode decodes at 1/2, 1/4 or 1/8 scale when that still covers the target."""
    if image_format == "JPEG":
        scale = 1
        while scale < 8 and width // (scale * 2) >= image_size and height // (scale * 2) >= image_size:
            scale *= 2
        return (width // scale) * (height // scale)
    return width * height


def plan_decoding(
    headers: Iterable[tuple[int, int, str, str]], *, count: int, image_size: int, color: str, float_copies: int, what: str
) -> DecodePlan:
    """Estimate the time and memory of decoding ``count`` images with these headers; refuse it if over the budget.

    ``float_copies`` is how many float32 copies of the whole set the caller will hold afterwards
    (a page that trains makes one). The count alone bounds the memory, so a zip of 20,000 tiny
    PNGs is refused before one header is read; headers are then read lazily and reading stops as
    soon as the time estimate passes the limit.
    """
    channels = 1 if color == "grayscale" else 3
    per_image = image_size**2 * channels * (2 + 4 * float_copies)  # the decoded list, its stacked array, the float copies
    described = f"{what}: {count:,} images at {image_size}×{image_size}"
    advice = "Use a smaller input size or fewer images."
    budget.check_memory(described, count * per_image, advice)
    seconds = 0.0
    pixels = 0
    largest = 0
    for width, height, mode, image_format in headers:
        decoded = _decoded_pixels(width, height, image_format, image_size)
        rate = _SECONDS_PER_PIXEL.get("JPEG" if image_format == "JPEG" else mode, _DEFAULT_SECONDS_PER_PIXEL)
        seconds += _SECONDS_PER_FILE + decoded * rate
        pixels += decoded
        largest = max(largest, decoded)
        if seconds > budget.MAX_WORK_SECONDS:
            raise budget.BudgetError(
                f"{what}: decoding its images ({pixels / 1e9:,.1f} gigapixels in the first ones alone) would take more "
                f"than {budget.MAX_WORK_SECONDS:,.0f} s of the server's time, the most one request may use. "
                "Resize the images (a few hundred pixels a side is plenty) or use fewer."
            )
    # The largest image while it decodes: RGBA, and its first conversion.
    peak = count * per_image + largest * 8
    budget.check_memory(described, peak, advice)
    return DecodePlan(count, pixels, image_size, channels, WorkEstimate(seconds, peak))


def _folder_headers(scan: FolderScan) -> Iterator[tuple[int, int, str, str]]:
    for paths in scan.files:
        for path in paths:
            try:
                yield image_header(path, name=path.name)
            except UploadError:
                yield (0, 0, "L", "")  # reported as unreadable when decoded; costs nothing


def plan_image_folder(
    root: Path | str, *, image_size: int, color: str = "rgb", float_copies: int = 1,
    fence: Path | None = None, shown_as: str | None = None,
) -> tuple[FolderScan, DecodePlan]:
    """Scan a folder and estimate decoding it, reading only the files' headers; raises when over budget."""
    scan = scan_image_folder(root, fence=fence, shown_as=shown_as)
    check_trainable(scan.counts, where=scan.shown_as)
    plan = plan_decoding(
        _folder_headers(scan), count=scan.file_count, image_size=image_size, color=color, float_copies=float_copies,
        what=scan.shown_as,
    )
    return scan, plan


def is_folder_decoded(scan: FolderScan, image_size: int, color: str) -> bool:
    """True when this folder's decoded arrays are already in the disk cache (opening it is then cheap)."""
    return DiskCache().get(_FOLDER_NAMESPACE, _folder_key(scan, image_size, color)) is not None


def _decode_folder(scan: FolderScan, image_size: int, color: str) -> tuple[dict[str, np.ndarray], list[str]]:
    images, labels, corrupt = [], [], []
    for label, paths in enumerate(scan.files):
        for path in paths:
            shown = f"{scan.shown_as}/{path.relative_to(scan.root)}"
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
    float_copies: int = 1,
    fence: Path | None = None,
    shown_as: str | None = None,
) -> Dataset:
    """A class-per-subfolder image folder as a stratified train/validation/test :class:`Dataset`.

    The decoding is budgeted from the files' headers first (:func:`plan_decoding`). ``extras``
    holds ``corrupt`` (messages naming each undecodable image), ``non_image_files`` (a count)
    and ``files_per_class``.
    """
    check_split_fractions(val_fraction, test_fraction)
    scan = scan_image_folder(root, fence=fence, shown_as=shown_as)
    check_trainable(scan.counts, where=scan.shown_as)
    if not (cache and is_folder_decoded(scan, image_size, color)):
        plan_decoding(
            _folder_headers(scan), count=scan.file_count, image_size=image_size, color=color,
            float_copies=float_copies, what=scan.shown_as,
        )

    def compute() -> dict[str, np.ndarray]:
        return _decode_folder(scan, image_size, color)[0]

    if cache:
        arrays = cached_arrays(_FOLDER_NAMESPACE, _folder_key(scan, image_size, color), compute)
    else:
        arrays = compute()
    x, y = arrays["x"], arrays["y"]
    corrupt = tuple(str(message) for message in arrays["corrupt"])
    decoded = {name_: int(np.sum(y == index)) for index, name_ in enumerate(scan.class_names)}
    skipped = f" (after skipping {len(corrupt)} unreadable images)" if corrupt else ""
    check_trainable(decoded, where=f"{scan.shown_as}{skipped}")
    train, val, test = stratified_split(y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    description = source or f"{sum(decoded.values()):,} images in {len(decoded)} class folders of {scan.shown_as}"
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
        recipe={
            "loader": "image_folder", "root": str(scan.root.resolve()), "image_size": int(image_size), "color": color,
            "val_fraction": val_fraction, "test_fraction": test_fraction, "seed": seed, "corrupt": len(corrupt),
        },
    )


def _read_upload(upload: Source) -> bytes:
    if isinstance(upload, (bytes, bytearray)):
        return bytes(upload)
    if isinstance(upload, (str, Path)):
        return Path(upload).read_bytes()
    return upload.read()


def plan_image_zip(
    upload: Source, *, name: str = "upload.zip", image_size: int = 64, color: str = "rgb", float_copies: int = 1,
    max_files: int = MAX_ZIP_FILES,
) -> DecodePlan:
    """Estimate decoding an uploaded zip of images from its members' headers, without unpacking it; raises when over budget."""
    with open_zip(_read_upload(upload)) as archive:
        members, _skipped = checked_members(archive, suffixes=IMAGE_SUFFIXES, max_files=max_files)

        def headers() -> Iterator[tuple[int, int, str, str]]:
            for info, path in members:
                try:
                    with archive.open(info) as member:
                        yield image_header(member, name=path.name)
                except (UploadError, zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError, zlib.error):
                    yield (0, 0, "L", "")  # reported when decoded

        return plan_decoding(
            headers(), count=len(members), image_size=image_size, color=color, float_copies=float_copies, what=name
        )


def load_image_zip(
    upload: Source,
    *,
    name: str = "upload.zip",
    max_files: int = MAX_ZIP_FILES,
    max_total_bytes: int = MAX_ZIP_BYTES,
    float_copies: int = 1,
    **options: Any,
) -> Dataset:
    """An uploaded zip of class subfolders, unpacked safely into a temporary folder and loaded.

    Path tricks, symlinks and oversize archives are refused by :func:`core.uploads.safe_extract_zip`,
    and the decoding is budgeted from the members' headers before anything is unpacked;
    non-image members are skipped and counted with the folder's own non-image files.
    """
    data = _read_upload(upload)
    plan_image_zip(
        data, name=name, image_size=int(options.get("image_size", 64)), color=str(options.get("color", "rgb")),
        float_copies=float_copies, max_files=max_files,
    )
    digest = hashlib.sha256(data).hexdigest()[:16]
    workspace = Path(tempfile.mkdtemp(prefix="dllab-zip-"))
    try:
        extraction = safe_extract_zip(
            data, workspace / "data", suffixes=IMAGE_SUFFIXES, max_files=max_files, max_total_bytes=max_total_bytes
        )
        root = _class_root(extraction.root, name)
        dataset = load_image_folder(
            root, name=f"zip:{Path(name).stem}-{digest}", source=None, cache=False, shown_as=name,
            float_copies=float_copies, **options,
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
        # The folder was a temporary unpacking of the upload, gone now: a script cannot reread it.
        recipe={"loader": "image_zip", "name": name},
    )


def _class_root(folder: Path, shown_as: str) -> Path:
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
                f"{shown_as} has no class subfolders with images; zip a folder that holds one subfolder of images per class"
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
    # Cut once per cache directory: cutting them imports scikit-learn, a second of a fresh server's CPU.
    x, y = made_once(
        "photo-patches", photo_patches, image_size=image_size, color=color, seed=seed,
        packages=("pillow", "scikit-learn"), sources=(photo_patches,),
    )
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
        recipe={
            "loader": "photo_patches", "image_size": int(image_size), "color": color,
            "val_fraction": val_fraction, "test_fraction": test_fraction, "seed": seed,
        },
    )
