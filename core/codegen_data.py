"""A dataset's recipe written as plain NumPy / Keras / scikit-learn code, for :mod:`core.codegen`.

Every loader records a small recipe on the :class:`~core.datasets.Dataset` it returns (which
loader, which options, which fallback was really used), and every derived dataset (audio
features, a transfer base's preprocessing, bottleneck features) wraps its parent's recipe in a
step. Here each recipe becomes the lines that remake the same arrays outside DL Lab. Where the
app's own helper is plain NumPy, Pillow or scikit-learn (a seeded subset, the synthetic sounds,
the log-mel features) its source is copied into the script as it is, so the two cannot drift.
A recipe that cannot be remade faithfully raises :class:`DataNotExportable` with the reason.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class DataNotExportable(ValueError):
    """The run's data cannot be remade by a standalone script; the message says why."""


@dataclass
class DataCode:
    """The helper definitions a script needs and the lines of its ``load_data()`` body."""

    helpers: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the reader should know about this data
    needs_pillow: bool = False
    uses_base: bool = False  # bottleneck features: load_data(base) takes the pretrained base

    def helper(self, source: str) -> None:
        """Add a helper definition once."""
        if source not in self.helpers:
            self.helpers.append(source)

    def copy(self, function: Callable[..., Any]) -> None:
        """Add the app's own ``function`` as it is, after the module constants it names (``GRAY_SIZE = 28``)."""
        source = _source(function)
        module = inspect.getmodule(function)
        for name, value in vars(module).items() if module is not None else ():
            plain = isinstance(value, (int, float, str, tuple)) and not isinstance(value, bool)
            if name.isupper() and plain and re.search(rf"\b{name}\b", source):
                self.helper(_constant(name, value))
        self.helper(source)


def _source(function: Callable[..., Any]) -> str:
    return textwrap.dedent(inspect.getsource(function)).rstrip()


def _constant(name: str, value: Any) -> str:
    return f"{name} = {value!r}"


# ---------------------------------------------------------------------------------------------
# Shared helpers, copied from the app's own modules


def _subsets(code: DataCode) -> None:
    from core.datasets.base import subsample, subsample_per_class

    code.helper(_source(subsample))
    code.helper(_source(subsample_per_class))


def _splits(code: DataCode) -> None:
    from core.datasets.base import check_split_fractions, stratified_split

    code.helper(_source(check_split_fractions))
    code.helper(_source(stratified_split))


def _digits(code: DataCode) -> None:
    from core.datasets.digits import digits_arrays, scaled_digits

    code.copy(scaled_digits)
    code.copy(digits_arrays)


# ---------------------------------------------------------------------------------------------
# One emitter per loader; each leaves a dict ``data`` of the arrays the app's Dataset held


def _mnist(recipe: Mapping[str, Any], code: DataCode) -> None:
    _subsets(code)
    size, seed = recipe.get("train_size"), int(recipe.get("seed", 0))
    if recipe.get("variant") == "mnist":
        code.notes.append("MNIST comes from keras.datasets (downloaded once into ~/.keras/datasets).")
        code.lines += [
            "(x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()",
            f"x_train, y_train = subsample(x_train, y_train.astype(np.int64), {size!r}, seed={seed})",
            "# Keras gives (N, 28, 28); the app's images always carry a channel axis.",
            "x_train, x_test = x_train[..., np.newaxis], x_test[..., np.newaxis]",
            "y_test = y_test.astype(np.int64)",
        ]
    else:
        _digits(code)
        code.notes.append(
            "This run used the app's offline stand-in for MNIST: scikit-learn's 8×8 digits, NOT real MNIST."
        )
        code.lines += [
            f"x_train, y_train, x_test, y_test = digits_arrays(seed={seed})",
            f"x_train, y_train = subsample(x_train, y_train, {size!r}, seed={seed})",
        ]
    code.lines.append('data = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}')


def _plain_digits(recipe: Mapping[str, Any], code: DataCode) -> None:
    _digits(code)
    code.lines += [
        f"x_train, y_train, x_test, y_test = digits_arrays(seed={int(recipe.get('seed', 0))})",
        'data = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}',
    ]


def _cifar(recipe: Mapping[str, Any], code: DataCode) -> None:
    from core.datasets.cifar import to_gray28, upscaled_digits

    gray = recipe["loader"] == "cifar10-gray28"
    variant = recipe.get("variant")
    per_class, test_per_class, seed = recipe.get("per_class"), recipe.get("test_per_class"), int(recipe.get("seed", 0))
    if variant == "png_folder":
        _gray_png_folders(recipe, code)
        return
    _subsets(code)
    if variant == "cifar10":
        code.notes.append("CIFAR-10 comes from keras.datasets (downloaded once into ~/.keras/datasets).")
        code.lines += [
            "(x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()",
            "# Keras gives labels shaped (N, 1); the app uses flat integer labels.",
            "y_train, y_test = y_train.reshape(-1).astype(np.int64), y_test.reshape(-1).astype(np.int64)",
        ]
    else:
        _digits(code)
        code.copy(upscaled_digits)
        code.needs_pillow = True
        size, channels = (28, 1) if gray else (32, 3)
        code.notes.append(
            "This run used the app's offline stand-in for CIFAR-10: scikit-learn's 8×8 digits upscaled to "
            f"{size}×{size}, NOT real CIFAR-10."
        )
        code.lines.append(f"x_train, y_train, x_test, y_test = upscaled_digits({size}, {channels}, seed={seed})")
    code.lines += [
        f"x_train, y_train = subsample_per_class(x_train, y_train, {per_class!r}, seed={seed})",
        f"x_test, y_test = subsample_per_class(x_test, y_test, {test_per_class!r}, seed={seed + 1})",
    ]
    if gray and variant == "cifar10":
        code.copy(to_gray28)
        code.needs_pillow = True
        code.lines += [
            "# ELEC 576's variant: grayscale, then 28×28 (only the images kept are converted).",
            "x_train, x_test = to_gray28(x_train), to_gray28(x_test)",
        ]
    code.lines.append(
        'data = {"x_train": x_train, "y_train": y_train.astype(np.int64), "x_test": x_test, "y_test": y_test.astype(np.int64)}'
    )


def _gray_png_folders(recipe: Mapping[str, Any], code: DataCode) -> None:
    from core.datasets import cifar

    if "root" not in recipe:
        raise DataNotExportable(
            "this run read the ELEC 576 PNG folders (CIFAR10/Train, CIFAR10/Test) before DL Lab recorded where they were, "
            "so no script can promise to read the same images"
        )
    code.helper(_DATASET_ERROR)
    code.copy(cifar._class_folders)
    code.copy(cifar._read_gray_image)
    code.copy(cifar.read_gray_split)
    code.needs_pillow = True
    root, seed = str(recipe["root"]), int(recipe.get("seed", 0))
    code.notes.append(
        "The images are the ELEC 576 PNG folders (Train/ and Test/, one folder per class) the app read, in CIFAR_FOLDER; "
        "change it to where your copy is. They are chosen and decoded by the app's own code, copied below."
    )
    code.lines += [
        f"CIFAR_FOLDER = Path({root!r})",
        '# Class labels follow the training folders, numbered folders in numeric order ("10" after "2").',
        'folder_names = [folder.name for folder in _class_folders(CIFAR_FOLDER / "Train")]',
        f'x_train, y_train = read_gray_split(CIFAR_FOLDER / "Train", folder_names, {recipe.get("per_class")!r}, seed={seed})',
        f'x_test, y_test = read_gray_split(CIFAR_FOLDER / "Test", folder_names, {recipe.get("test_per_class")!r}, seed={seed + 1})',
        'data = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}',
    ]


def _split_into_data(code: DataCode, recipe: Mapping[str, Any]) -> None:
    _splits(code)
    code.lines += [
        "train, val, test = stratified_split(",
        f"    y, val_fraction={recipe['val_fraction']!r}, test_fraction={recipe['test_fraction']!r}, seed={int(recipe['seed'])}",
        ")",
        'data = {"x_train": x[train], "y_train": y[train], "x_test": x[test], "y_test": y[test]}',
        "if len(val):",
        '    data["x_val"], data["y_val"] = x[val], y[val]',
    ]


def _photo_patches(recipe: Mapping[str, Any], code: DataCode) -> None:
    from core.datasets.images import photo_patches

    code.copy(photo_patches)
    code.needs_pillow = True
    code.notes.append(
        "This run used the app's offline stand-in for cats vs dogs: patches of scikit-learn's two sample photos "
        "(a temple and a flower), NOT cats and dogs."
    )
    code.lines.append(
        f"x, y = photo_patches(image_size={int(recipe['image_size'])}, color={recipe['color']!r}, seed={int(recipe['seed'])})"
    )
    _split_into_data(code, recipe)


_IMAGE_FOLDER_READER = '''
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def read_image_folder(root: str, *, image_size: int, color: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every image under root/<class>/ (subfolders included, sorted by name), resized to image_size².

    The app decodes the same way: JPEG draft mode, EXIF orientation, a bilinear resize in the
    image's own mode, then RGB (and L for grayscale). Images that fail to open are skipped.
    """
    from PIL import Image, ImageOps

    classes = sorted(
        name for name in os.listdir(root) if os.path.isdir(os.path.join(root, name)) and not name.startswith((".", "__"))
    )
    images, labels = [], []
    for label, name in enumerate(classes):
        for folder, subfolders, files in os.walk(os.path.join(root, name)):
            subfolders[:] = sorted(sub for sub in subfolders if not sub.startswith((".", "__")))
            for file_name in sorted(files):
                if file_name.startswith((".", "__")) or os.path.splitext(file_name)[1].lower() not in IMAGE_SUFFIXES:
                    continue
                try:
                    image = Image.open(os.path.join(folder, file_name))
                    if image.format == "JPEG":
                        image.draft(image.mode, (image_size, image_size))
                    image.load()
                    image = ImageOps.exif_transpose(image) or image
                except (OSError, SyntaxError, ValueError):
                    continue
                if image.mode not in ("1", "L", "RGB"):
                    image = image.convert("RGBA" if "A" in image.mode or "transparency" in image.info else "RGB")
                if image.mode == "1":
                    image = image.convert("L")
                image = image.resize((image_size, image_size), Image.Resampling.BILINEAR, reducing_gap=2.0).convert("RGB")
                if color == "grayscale":
                    image = image.convert("L")
                array = np.asarray(image, dtype=np.uint8)
                images.append(array[..., np.newaxis] if array.ndim == 2 else array)
                labels.append(label)
    return np.stack(images), np.asarray(labels, dtype=np.int64), classes
'''.strip()


def _image_folder(recipe: Mapping[str, Any], code: DataCode) -> None:
    code.helper(_IMAGE_FOLDER_READER)
    code.needs_pillow = True
    root = str(recipe["root"])
    code.notes.append(
        f"The images are read from the folder the app used, {root}; change IMAGE_FOLDER to where your copy is. "
        "Ordinary 8-bit photos decode exactly as in the app (16-bit images are scaled slightly differently there)."
    )
    code.lines += [
        f"IMAGE_FOLDER = {root!r}",
        f"x, y, class_names = read_image_folder(IMAGE_FOLDER, image_size={int(recipe['image_size'])}, color={recipe['color']!r})",
    ]
    _split_into_data(code, recipe)


_DATASET_ERROR = 'class DatasetError(ValueError):\n    """Data that cannot be read; the message says which file and why."""'
_AUDIO_ERROR = 'class AudioError(ValueError):\n    """Audio settings that cannot work."""'
# DL Lab strips server paths from the messages about unreadable files; they decide nothing about the arrays.
_MESSAGE_STAND_INS = '''
def without_paths(text: str, *, limit: int = 200) -> str:
    """The message as it is, cut to limit characters (DL Lab also hides server paths in it)."""
    return str(text)[:limit]


def user_message(error: BaseException, *, limit: int = 200) -> str:
    """What went wrong, in the error's own words."""
    return without_paths(str(error) or type(error).__name__, limit=limit)
'''.strip()


def _wav_folder(recipe: Mapping[str, Any], code: DataCode) -> None:
    from core import settings
    from core.datasets import audio, wav

    if "root" not in recipe:
        raise DataNotExportable(
            "this run read a folder of WAV recordings before DL Lab recorded where it was, "
            "so no script can promise to read the same files"
        )
    code.helper(_DATASET_ERROR)
    code.helper(_AUDIO_ERROR)
    code.helper(_MESSAGE_STAND_INS)
    # A compiled pattern and a range are not plain constants, so DataCode.copy does not carry them.
    code.helper(f"FSDD_PATTERN = re.compile({audio.FSDD_PATTERN.pattern!r}, re.IGNORECASE)")
    code.helper(f"FSDD_TEST_INDICES = {audio.FSDD_TEST_INDICES!r}")
    for function in (
        settings.is_inside, wav.wav_files, audio._content_root, audio.is_fsdd_layout, audio._split_fsdd, audio._allowed,
        audio._class_folders, audio._split_class_folders, audio.split_wav_folder,
        wav._open_source, wav._find_chunk, wav._declared_format, wav._pcm_to_float, wav._check_rate, wav._read_with_scipy,
        wav.read_wav, wav.resample, wav.fit_length, wav.clip_samples, wav.DecodedClips, wav.decode_files,
    ):
        code.copy(function)
    root, fence = str(recipe["root"]), recipe.get("fence")
    sample_rate, clip_seconds = int(recipe["sample_rate"]), float(recipe["clip_seconds"])
    code.notes.append(
        "The recordings are read from the WAV folder the app used (WAV_FOLDER below; change it to where your copy is), "
        "listed, split and decoded by the app's own code, copied below. Files that cannot be decoded are skipped, as in the app."
    )
    if fence is None:
        fence_line = "FENCE = None"
    elif Path(root).parent == Path(str(fence)):  # a folder of the data directory: the fence moves with it
        fence_line = "FENCE = WAV_FOLDER.parent"
    else:
        fence_line = f"FENCE = Path({str(fence)!r})"
    code.lines += [
        f"WAV_FOLDER = Path({root!r})",
        "# The app ignores files whose real path leads out of its data directory (FENCE; None: no such limit).",
        fence_line,
        "train, train_labels, test, test_labels, class_names, split_note = split_wav_folder(",
        f"    WAV_FOLDER, test_fraction={float(recipe['test_fraction'])!r}, seed={int(recipe['seed'])}, fence=FENCE",
        ")",
        f"decoded = decode_files(train + test, sample_rate={sample_rate}, clip_seconds={clip_seconds!r})",
        "# The app keeps decoded clips as 16-bit integers in its disk cache; the same rounding gives the same arrays.",
        "clips = np.round(decoded.clips * 32767.0).astype(np.int16).astype(np.float32) / np.float32(32767.0)",
        "kept = np.asarray(decoded.kept, dtype=np.int64)",
        "labels = np.asarray(train_labels + test_labels, dtype=np.int64)[kept]",
        "is_test = (np.arange(len(train) + len(test)) >= len(train))[kept]",
        'data = {"x_train": clips[~is_test], "y_train": labels[~is_test], "x_test": clips[is_test], "y_test": labels[is_test]}',
    ]


def _synthetic_sounds(recipe: Mapping[str, Any], code: DataCode) -> None:
    from core.datasets import synthetic_sounds as module
    from core.datasets import wav

    code.helper(_AUDIO_ERROR)
    code.copy(wav.clip_samples)
    code.copy(module._synthetic_clip)
    code.copy(module.synthetic_sounds)
    code.notes.append(
        "The sounds are the app's synthetic set (tones, chirps, clicks, noise…), generated here by the app's own NumPy "
        "code copied below: no recordings are needed, and the same seed gives the same clips."
    )
    code.lines += [
        "x_train, y_train, x_test, y_test = synthetic_sounds(",
        f"    train_per_class={int(recipe['train_per_class'])}, test_per_class={int(recipe['test_per_class'])},",
        f"    sample_rate={int(recipe['sample_rate'])}, clip_seconds={float(recipe['clip_seconds'])!r}, seed={int(recipe['seed'])},",
        ")",
        'data = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}',
    ]


# The app's task builder makes DL Lab Dataset objects; these two stand-ins hold the same arrays,
# so its own code (copied below) runs unchanged.
_TASK_STAND_INS = '''
@dataclass
class Dataset:
    """One task's arrays, named as in DL Lab (a stand-in for its Dataset class)."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    source: str
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    recipe: dict | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        found = {"x_train": self.x_train, "y_train": self.y_train, "x_test": self.x_test, "y_test": self.y_test}
        if self.x_val is not None:
            found.update(x_val=self.x_val, y_val=self.y_val)
        return found


@dataclass
class DigitsTransferTask:
    """A source task with plenty of data and a different target task with very little."""

    source: Dataset
    target: Dataset
    per_class: int
'''.strip()


def _digits_transfer(recipe: Mapping[str, Any], code: DataCode) -> None:
    from core.datasets.digits import scaled_digits
    from core.transfer import digits

    _splits(code)
    code.helper(_TASK_STAND_INS)
    code.copy(scaled_digits)
    code.copy(digits.place_on_canvas)
    code.copy(digits.digits_transfer_task)
    task = recipe.get("task")
    if task not in ("source", "target"):
        raise DataNotExportable(f"unknown part {task!r} of the digits transfer task")
    code.notes.append(
        "The transfer demo's tasks are made by the app's own code (copied below) from scikit-learn's digits: "
        "0–4 for the source CNN, 5–9 with a few images per class for the target, each digit at a random place "
        "on a larger canvas."
    )
    code.lines += [
        f"task = digits_transfer_task(per_class={int(recipe['per_class'])}, seed={int(recipe['seed'])})",
        f"data = task.{task}.arrays()",
    ]


# ---------------------------------------------------------------------------------------------
# Derived datasets: a step applied to the data its inner recipe makes


def _audio_features(recipe: Mapping[str, Any], code: DataCode) -> None:
    from core.audio import features as module

    if recipe.get("settings") is None:
        raise DataNotExportable("these audio features came ready-made from uploaded .npy files, which a script cannot reach")
    _data(recipe.get("of"), code)
    code.helper(_constant("_STFT_BYTES_PER_BIN", module._STFT_BYTES_PER_BIN))  # private, so not found by name
    code.helper(_AUDIO_ERROR)
    code.copy(module.FeatureSettings)
    code.copy(module.feature_batch_size)
    code.copy(module.log_mel_features)
    code.copy(module.band_statistics)
    _splits(code)
    settings = dict(recipe["settings"])
    arguments = ", ".join(f"{name}={value!r}" for name, value in settings.items())
    code.lines += [
        "",
        "# Clips become log-mel (or MFCC) images with the page's settings, computed in batches with tf.signal.",
        f"settings = FeatureSettings({arguments})",
        'features = log_mel_features(np.concatenate([data["x_train"], data["x_test"]]), settings)',
        "# Every band is standardised with statistics of the training clips only, so the test set stays unseen.",
        'train_count = len(data["x_train"])',
        "mean, scale = band_statistics(features[:train_count])",
        "features -= mean[:, None]",
        "features /= scale[:, None]",
        "# A validation split carved from training (stratified, seeded) drives early stopping.",
        "train_index, val_index, _ = stratified_split(",
        f'    data["y_train"], val_fraction={recipe["validation_fraction"]!r}, test_fraction=0.0, seed={int(recipe["seed"])}',
        ")",
        "data = {",
        '    "x_train": features[train_index], "y_train": data["y_train"][train_index],',
        '    "x_test": features[train_count:], "y_test": data["y_test"],',
        '    **({"x_val": features[val_index], "y_val": data["y_train"][val_index]} if len(val_index) else {}),',
        "}",
    ]


def _transfer_preprocess(recipe: Mapping[str, Any], code: DataCode) -> None:
    from core.transfer import bases

    _data(recipe.get("of"), code)
    code.helper(_constant("_IMAGENET_BGR_MEAN", None).replace("None", "np.array([103.939, 116.779, 123.68], dtype=np.float32)"))
    code.copy(bases.preprocess)
    kind = recipe.get("kind")
    code.lines += [
        "",
        f"# What the base expects ({'VGG16: RGB→BGR minus the ImageNet means' if kind == 'vgg16' else 'pixels / 255'}).",
        f'data = {{name: preprocess(array, {kind!r}) if name.startswith("x_") else array for name, array in data.items()}}',
    ]


def _bottleneck(recipe: Mapping[str, Any], code: DataCode) -> None:
    _data(recipe.get("of"), code)
    code.uses_base = True
    batch = int(recipe.get("batch_size", 32))
    code.lines += [
        "",
        "# Feature extraction: the frozen base runs once over every image; only the head will train on its outputs.",
        "data = {",
        "    name: np.concatenate(",
        f"        [np.asarray(base(array[start : start + {batch}], training=False)) for start in range(0, len(array), {batch})]",
        "    ).astype(np.float32) if name.startswith(\"x_\") else array",
        "    for name, array in data.items()",
        "}",
    ]


_LOADERS: dict[str, Callable[[Mapping[str, Any], DataCode], None]] = {
    "mnist": _mnist,
    "digits": _plain_digits,
    "cifar10": _cifar,
    "cifar10-gray28": _cifar,
    "photo_patches": _photo_patches,
    "image_folder": _image_folder,
    "synthetic_sounds": _synthetic_sounds,
    "wav_folder": _wav_folder,
    "digits_transfer": _digits_transfer,
}
_STEPS: dict[str, Callable[[Mapping[str, Any], DataCode], None]] = {
    "audio_features": _audio_features,
    "transfer_preprocess": _transfer_preprocess,
    "bottleneck_features": _bottleneck,
}
_WHY_NOT: dict[str, str] = {
    "image_zip": "this run trained on an uploaded zip, which the server unpacked only for the moment it read it",
    "audio_npy": "this run trained on uploaded .npy feature files, which a script cannot reach",
    "wav_zip": "this run trained on an uploaded zip of WAV files, which the server unpacked only for the moment it read it",
}


def _data(recipe: Any, code: DataCode) -> None:
    if not isinstance(recipe, Mapping):
        raise DataNotExportable(
            "DL Lab did not record how this run's data was made (it was trained before recipes were kept), "
            "so no script can promise to load the same data"
        )
    if "step" in recipe:
        step = _STEPS.get(str(recipe["step"]))
        if step is None:
            raise DataNotExportable(f"the data went through a step ({recipe['step']}) the exporter does not know")
        step(recipe, code)
        return
    loader = str(recipe.get("loader"))
    if loader in _WHY_NOT:
        raise DataNotExportable(_WHY_NOT[loader])
    if loader not in _LOADERS:
        raise DataNotExportable(f"the exporter does not know the data source {loader!r}")
    _LOADERS[loader](recipe, code)


def data_code(recipe: Mapping[str, Any] | None) -> DataCode:
    """The helpers and ``load_data()`` lines that remake the data of ``recipe``; :class:`DataNotExportable` otherwise."""
    code = DataCode()
    _data(recipe, code)
    return code
