"""CIFAR-10 in colour (``cifar10``) and as the ELEC 576 28×28 grayscale variant (``cifar10-gray28``).

Colour CIFAR-10 comes from the official "python version" folder ``cifar-10-batches-py/`` (in the
data directory, then the Keras cache), then a Keras download, then an offline fallback. The
batches are pickles, and a pickle can run code when loaded, so they are read with
:class:`CifarUnpickler`, which only rebuilds dicts, lists, bytes and NumPy arrays.

The gray variant reads the ELEC 576 layout ``CIFAR10/{Train,Test}/<class>/*.png`` or, failing
that, derives it from colour CIFAR-10 the way the assignment did: grayscale, then resize to 28×28.

Offline, both fall back to scikit-learn's 8×8 digits upscaled to the CIFAR shape, with
``is_fallback=True`` and a source that says plainly that it is not CIFAR.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from core.datasets.archives import unpack_selected
from core.datasets.base import (
    Dataset,
    DatasetError,
    Location,
    made_once,
    nonempty_file,
    register_loader,
    subsample_per_class,
)
from core.datasets.digits import digits_arrays, scaled_digits
from core import download
from core.datasets.keras_source import keras_datasets_dir, network_available, unreachable_mirror_note
from core.download import DownloadProgress, fetch

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
BATCHES_FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{index}" for index in range(1, 6))
TEST_BATCH = "test_batch"
GRAY_SIZE = 28
GRAY_FOLDERS = ("elec576-cifar10-gray/CIFAR10", "CIFAR10", "")  # "": the data directory is the CIFAR10 folder
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")

# Everything a CIFAR batch needs: NumPy's array reconstruction (both the NumPy < 2 and ≥ 2
# module names; ``_frombuffer`` is how protocol 5 stores arrays) and the two helpers Python 3
# uses to pickle ``bytes`` at protocol 2. None of them can call out of NumPy; anything else
# (``os.system``, ``builtins.eval``, ``subprocess.Popen``…) is refused.
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
        ("builtins", "bytes"),
    }
)


class CifarUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only dicts, lists, bytes, numbers and NumPy arrays."""

    def find_class(self, module: str, name: str) -> Any:
        """Allow the few globals a CIFAR batch uses; refuse every other import the pickle asks for."""
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name} from a CIFAR batch: a real batch never needs it, "
            "so the file is corrupt or malicious"
        )


def read_pickle(path: Path) -> Any:
    """Unpickle a CIFAR file with :class:`CifarUnpickler`; any failure becomes a :class:`DatasetError`."""
    try:
        with open(path, "rb") as handle:
            return CifarUnpickler(handle, encoding="bytes").load()
    except pickle.UnpicklingError as error:
        raise DatasetError(f"{path} cannot be loaded safely: {error}") from None
    except (OSError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError) as error:
        raise DatasetError(f"{path} is not a readable CIFAR batch: {error}") from None


def _field(record: dict, name: str) -> Any:
    for key in (name.encode("ascii"), name):
        if key in record:
            return record[key]
    raise KeyError(name)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One official batch as ``uint8`` images ``(N, 32, 32, 3)`` and ``int64`` labels."""
    record = read_pickle(path)
    if not isinstance(record, dict):
        raise DatasetError(f"{path} holds a {type(record).__name__}, expected the dict of a CIFAR batch")
    try:
        data, labels = _field(record, "data"), _field(record, "labels")
    except KeyError as missing:
        raise DatasetError(f"{path} lacks the key {missing}; expected b'data' and b'labels'") from None
    data = np.asarray(data)
    labels = np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DatasetError(f"{path}: data is {data.dtype} {data.shape}, expected uint8 (N, 3072)")
    if labels.ndim != 1 or len(labels) != len(data):
        raise DatasetError(f"{path}: {len(data)} images but labels of shape {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(f"{path}: labels outside 0–9")
    # Rows are channel-major (1,024 red, then green, then blue values); make them channels-last.
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int64)


def read_batches_folder(folder: Path) -> dict[str, np.ndarray]:
    """All training batches present plus ``test_batch`` from an official ``cifar-10-batches-py`` folder."""
    # The batches locate_cifar10 counts, so the prefetch report and the loaded images agree.
    present = [folder / name for name in TRAIN_BATCHES if nonempty_file(folder / name)]
    if not present:
        raise DatasetError(f"{folder} has no data_batch_1…5 files")
    if not (folder / TEST_BATCH).is_file():
        raise DatasetError(f"{folder} has no {TEST_BATCH} file")
    parts = [read_batch(path) for path in present]
    x_test, y_test = read_batch(folder / TEST_BATCH)
    return {
        "x_train": np.concatenate([images for images, _ in parts]),
        "y_train": np.concatenate([labels for _, labels in parts]),
        "x_test": x_test,
        "y_test": y_test,
    }


def locate_cifar10(data_dir: Path | None, keras_datasets: Path) -> Location:
    """Where colour CIFAR-10's ``cifar-10-batches-py/`` is: in the data directory, the data directory itself, the Keras cache.

    A folder counts when it has ``test_batch`` and at least one training batch; with fewer than
    five, it is found with a ``problem`` that says how many, and the loader trains on those.
    """
    candidates: list[tuple[Path, str]] = []
    if data_dir is not None:
        candidates += [(data_dir / BATCHES_FOLDER, "data directory"), (data_dir, "data directory")]
    # Keras 3 extracts into "cifar-10-batches-py-target/"; Keras 2 extracted beside the archive.
    candidates += [
        (keras_datasets / f"{BATCHES_FOLDER}-target" / BATCHES_FOLDER, "Keras cache"),
        (keras_datasets / BATCHES_FOLDER, "Keras cache"),
    ]
    for folder, where in candidates:
        if not nonempty_file(folder / TEST_BATCH):
            continue
        present = sum(nonempty_file(folder / name) for name in TRAIN_BATCHES)
        if present:
            partial = f"only {present} of {len(TRAIN_BATCHES)} training batches" if present < len(TRAIN_BATCHES) else ""
            return Location(folder, where, partial)
    return Location(None)


def colour_cifar_arrays(
    data_dir: Path | None, *, allow_download: bool = True, problems: list[str] | None = None
) -> tuple[dict[str, np.ndarray], str] | None:
    """Colour CIFAR-10 from the data directory, the Keras cache or a download, with its source; ``None`` offline.

    Why a download was not made or failed (a mirror that does not answer, a checksum that does
    not match) is appended to ``problems``, for the fallback's banner.
    """
    found = locate_cifar10(data_dir, keras_datasets_dir())
    if found.path is not None:
        source = (
            f"CIFAR-10 from the Keras cache ({found.path})"
            if found.where == "Keras cache"
            else f"CIFAR-10 (official python batches) from {found.path}"
        )
        return read_batches_folder(found.path), source
    if allow_download and network_available():
        try:
            folder = download_cifar10()
        except download.DownloadError as error:
            (problems if problems is not None else []).append(str(error))
            return None
        return read_batches_folder(folder), f"CIFAR-10 downloaded from {download.source_label(download.CIFAR10)}"
    note = unreachable_mirror_note() if allow_download else None
    if note and problems is not None:
        problems.append(note)
    return None


def download_cifar10(on_progress: Callable[[DownloadProgress], None] | None = None) -> Path:
    """Download the official archive (checked against Keras' checksum) and unpack its batches into the Keras cache.

    The batches are pickles, so the checksum is what makes them safe to read: a mirror or a
    tampered download cannot hand the server a pickle of its own. The archive stays beside the
    folder, where ``python -m core.prefetch --serve`` finds it for a classroom mirror.
    """
    datasets = keras_datasets_dir()
    archive = fetch(download.CIFAR10, datasets / download.CIFAR10.name, on_progress=on_progress)
    folder = datasets / BATCHES_FOLDER
    if locate_cifar10(None, datasets).path is None:
        unpack_batches(archive, folder)
    return folder


def unpack_batches(archive: Path, folder: Path) -> None:
    """Extract the archive's ``cifar-10-batches-py/`` files into ``folder``, all at once (a rename) or not at all."""
    unpack_selected(archive, folder, _batch_file, expected=f"{BATCHES_FOLDER}/ batches")


def _batch_file(member: PurePosixPath) -> PurePosixPath | None:
    # "cifar-10-batches-py/data_batch_1" -> "data_batch_1"; the readme.html stays in the archive.
    if len(member.parts) == 2 and member.parts[0] == BATCHES_FOLDER and member.name != "readme.html":
        return PurePosixPath(member.name)
    return None


def upscaled_digits(size: int, channels: int, *, seed: int = 0) -> tuple[np.ndarray, ...]:
    """scikit-learn's 8×8 digits resized to ``size``×``size`` with ``channels`` channels (uint8)."""
    from PIL import Image

    def upscale(images: np.ndarray) -> np.ndarray:
        resized = np.stack(
            [np.asarray(Image.fromarray(image[:, :, 0]).resize((size, size), Image.Resampling.BILINEAR)) for image in images]
        )[..., np.newaxis]
        return np.repeat(resized, channels, axis=-1) if channels > 1 else resized

    x_train, y_train, x_test, y_test = digits_arrays(seed=seed)
    return upscale(x_train), y_train, upscale(x_test), y_test


def cached_upscaled_digits(size: int, channels: int, *, seed: int = 0) -> tuple[np.ndarray, ...]:
    """:func:`upscaled_digits`, made once per cache directory and read back afterwards.

    Resizing 1,797 images one by one was a third of a second of a freshly started server's first
    CIFAR page. The key holds Pillow's version (whose resampling it is), scikit-learn's, and the
    code that makes them. (The exported scripts copy :func:`upscaled_digits` itself, which must
    stay free of DL Lab imports.)
    """
    return made_once(
        "upscaled-digits", upscaled_digits, size=size, channels=channels, seed=seed,
        packages=("pillow", "scikit-learn"), sources=(upscaled_digits, digits_arrays, scaled_digits),
    )


def fallback_source(variant: str, size: int, channels: int) -> str:
    """The banner text for the offline fallback: what the data really is, and how to get CIFAR."""
    shape = f"{size}×{size}" + (" colour (the gray digit copied into R, G and B)" if channels == 3 else " grayscale")
    how = (
        "Put the ELEC 576 folder CIFAR10/{Train,Test}/<class>/*.png or the official cifar-10-batches-py/ "
        "folder in the data directory"
        if variant == "cifar10-gray28"
        else "Put the official cifar-10-batches-py/ folder in the data directory"
    )
    return (
        f"Offline fallback: this is NOT CIFAR-10. These are scikit-learn's 8×8 handwritten digits (0–9) "
        f"upscaled to {shape}, so the pages work without data or network. {how} for real CIFAR-10."
    )


def _dataset(
    name: str,
    arrays: dict[str, np.ndarray],
    *,
    class_names: tuple[str, ...],
    source: str,
    per_class: int | None,
    test_per_class: int | None,
    seed: int,
    is_fallback: bool = False,
    recipe: dict | None = None,
) -> Dataset:
    x_train, y_train = subsample_per_class(arrays["x_train"], arrays["y_train"], per_class, seed=seed)
    x_test, y_test = subsample_per_class(arrays["x_test"], arrays["y_test"], test_per_class, seed=seed + 1)
    return Dataset(
        name=name,
        x_train=x_train,
        y_train=y_train.astype(np.int64),
        x_test=x_test,
        y_test=y_test.astype(np.int64),
        class_names=class_names,
        source=f"{source} ({len(x_train):,} training and {len(x_test):,} test images"
        + (f", at most {per_class:,} per class" if per_class is not None else "")
        + ")",
        is_fallback=is_fallback,
        recipe=recipe,
    )


def _check_counts(per_class: int | None, test_per_class: int | None) -> None:
    for name, value in (("per_class", per_class), ("test_per_class", test_per_class)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"{name} must be a whole number of at least 1 (or None for all), got {value!r}")


# The fallback gets its own dataset name: runs tables list runs by name, and a digits model
# must never be listed, inspected or scored as a CIFAR-10 model once real data appears.
@register_loader("cifar10")
def load_cifar10(
    *,
    data_dir: Path | None = None,
    per_class: int | None = None,
    test_per_class: int | None = None,
    seed: int = 0,
    allow_download: bool = True,
) -> Dataset:
    """Colour CIFAR-10 as ``(N, 32, 32, 3)`` uint8, optionally ``per_class`` training images per class."""
    _check_counts(per_class, test_per_class)
    problems: list[str] = []
    found = colour_cifar_arrays(data_dir, allow_download=allow_download, problems=problems)
    if found is None:
        x_train, y_train, x_test, y_test = cached_upscaled_digits(32, 3, seed=seed)
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        return _dataset(
            "cifar10-fallback",
            arrays,
            class_names=tuple(f"digit {digit}" for digit in range(10)),
            source=" ".join([fallback_source("cifar10", 32, 3), *problems]),
            per_class=per_class,
            test_per_class=test_per_class,
            seed=seed,
            is_fallback=True,
            recipe=_recipe("cifar10", "digits_fallback", per_class, test_per_class, seed),
        )
    arrays, source = found
    return _dataset(
        "cifar10", arrays, class_names=CIFAR10_CLASSES, source=source,
        per_class=per_class, test_per_class=test_per_class, seed=seed,
        recipe=_recipe("cifar10", "cifar10", per_class, test_per_class, seed),
    )


# ---------------------------------------------------------------------------------------------
# The ELEC 576 grayscale variant


def to_gray28(images: np.ndarray) -> np.ndarray:
    """Colour ``(N, 32, 32, 3)`` images as ``(N, 28, 28, 1)`` grayscale, as the ELEC 576 assignment made them."""
    from PIL import Image

    # PIL's "L" conversion is the ITU-R 601 luma 0.299 R + 0.587 G + 0.114 B; LANCZOS resizing
    # keeps the edges a bilinear shrink would blur.
    return np.stack(
        [
            np.asarray(Image.fromarray(image).convert("L").resize((GRAY_SIZE, GRAY_SIZE), Image.Resampling.LANCZOS))
            for image in images
        ]
    )[..., np.newaxis]


def locate_gray_cifar(data_dir: Path | None) -> Location:
    """Where the ELEC 576 ``CIFAR10/{Train,Test}/<class>/`` folders are in the data directory (or the data directory is them)."""
    if data_dir is not None:
        for folder in (data_dir / relative for relative in GRAY_FOLDERS):
            if (folder / "Train").is_dir() and (folder / "Test").is_dir():
                return Location(folder, "data directory")
    return Location(None)


def _class_folders(split: Path) -> list[Path]:
    folders = [child for child in split.iterdir() if child.is_dir() and not child.name.startswith(".")]
    # Numbered folders are CIFAR labels; sort them numerically so "10" never lands before "2".
    return sorted(folders, key=lambda folder: (0, int(folder.name), "") if folder.name.isdigit() else (1, 0, folder.name))


def _read_gray_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            gray = image.convert("L")
            if gray.size != (GRAY_SIZE, GRAY_SIZE):
                gray = gray.resize((GRAY_SIZE, GRAY_SIZE), Image.Resampling.LANCZOS)
            return np.asarray(gray, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise DatasetError(f"{path} is not a readable image: {error}") from None


def read_gray_split(split: Path, class_names: list[str], per_class: int | None, *, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images of one split folder (``Train`` or ``Test``), at most ``per_class`` per class, chosen with ``seed``.

    Only the chosen files are decoded, so a small subset of a large folder loads quickly.
    """
    rng = np.random.default_rng(seed)
    paths: list[Path] = []
    labels: list[int] = []
    for label, name in enumerate(class_names):
        folder = split / name
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
        if per_class is not None and len(files) > per_class:
            files = [files[index] for index in sorted(rng.choice(len(files), per_class, replace=False))]
        paths += files
        labels += [label] * len(files)
    if not paths:
        raise DatasetError(f"{split} has no images in its class folders")
    order = rng.permutation(len(paths))
    images = np.stack([_read_gray_image(paths[index]) for index in order])[..., np.newaxis]
    return images, np.asarray(labels, dtype=np.int64)[order]


def _gray_class_names(folder_names: list[str]) -> tuple[str, ...]:
    if folder_names == [str(label) for label in range(10)]:
        return CIFAR10_CLASSES
    return tuple(folder_names)


@register_loader("cifar10-gray28")
def load_cifar10_gray28(
    *,
    data_dir: Path | None = None,
    per_class: int | None = None,
    test_per_class: int | None = None,
    seed: int = 0,
    allow_download: bool = True,
) -> Dataset:
    """CIFAR-10 as 28×28 grayscale ``(N, 28, 28, 1)`` uint8: the ELEC 576 PNG folders, or derived from colour."""
    _check_counts(per_class, test_per_class)
    root = locate_gray_cifar(data_dir).path
    if root is not None:
        folder_names = [folder.name for folder in _class_folders(root / "Train")]
        if not folder_names:
            raise DatasetError(f"{root / 'Train'} has no class folders")
        x_train, y_train = read_gray_split(root / "Train", folder_names, per_class, seed=seed)
        x_test, y_test = read_gray_split(root / "Test", folder_names, test_per_class, seed=seed + 1)
        return Dataset(
            name="cifar10-gray28",
            x_train=x_train,
            y_train=y_train,
            x_test=x_test,
            y_test=y_test,
            class_names=_gray_class_names(folder_names),
            source=f"CIFAR-10 gray 28×28 (ELEC 576 PNG folders) from {root} "
            f"({len(x_train):,} training and {len(x_test):,} test images"
            + (f", at most {per_class:,} per class" if per_class is not None else "")
            + ")",
            recipe=_recipe("cifar10-gray28", "png_folder", per_class, test_per_class, seed, root=root),
        )
    problems = []
    found = colour_cifar_arrays(data_dir, allow_download=allow_download, problems=problems)
    if found is None:
        x_train, y_train, x_test, y_test = cached_upscaled_digits(GRAY_SIZE, 1, seed=seed)
        arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
        return _dataset(
            "cifar10-gray28-fallback",
            arrays,
            class_names=tuple(f"digit {digit}" for digit in range(10)),
            source=" ".join([fallback_source("cifar10-gray28", GRAY_SIZE, 1), *problems]),
            per_class=per_class,
            test_per_class=test_per_class,
            seed=seed,
            is_fallback=True,
            recipe=_recipe("cifar10-gray28", "digits_fallback", per_class, test_per_class, seed),
        )
    arrays, source = found
    # Subsample before converting, so only the images kept are resized.
    x_train, y_train = subsample_per_class(arrays["x_train"], arrays["y_train"], per_class, seed=seed)
    x_test, y_test = subsample_per_class(arrays["x_test"], arrays["y_test"], test_per_class, seed=seed + 1)
    return Dataset(
        name="cifar10-gray28",
        x_train=to_gray28(x_train),
        y_train=y_train.astype(np.int64),
        x_test=to_gray28(x_test),
        y_test=y_test.astype(np.int64),
        class_names=CIFAR10_CLASSES,
        source=f"{source}, converted to 28×28 grayscale as in ELEC 576 "
        f"({len(x_train):,} training and {len(x_test):,} test images"
        + (f", at most {per_class:,} per class" if per_class is not None else "")
        + ")",
        recipe=_recipe("cifar10-gray28", "cifar10", per_class, test_per_class, seed),
    )


def _recipe(
    loader: str, variant: str, per_class: int | None, test_per_class: int | None, seed: int, *, root: Path | None = None
) -> dict:
    """How a CIFAR dataset was made, for exported scripts: ``variant`` is the data actually read (``root``: the PNG folders)."""
    recipe = {"loader": loader, "variant": variant, "per_class": per_class, "test_per_class": test_per_class, "seed": seed}
    if root is not None:
        recipe["root"] = str(Path(root).absolute())
    return recipe


def to_model_input(image: Any, input_shape: tuple[int, ...]) -> np.ndarray:
    """A decoded PIL image converted and resized to a model's ``(H, W, C)`` input, as ``uint8``."""
    from PIL import Image

    height, width, channels = input_shape
    converted = image.convert("RGB" if channels == 3 else "L")
    resized = converted.resize((width, height), Image.Resampling.LANCZOS)
    array = np.asarray(resized, dtype=np.uint8)
    return array if channels == 3 else array[..., np.newaxis]
