"""Show the code: every page type's exported script runs on its own and reproduces the app's run.

One tiny run of each page type is trained through the app's own path (loaders, feature and
transfer steps, ``core.training.train``), exported with :func:`core.codegen.keras_script`, and
run as a plain ``python script.py`` in a folder where DL Lab cannot be imported. All the scripts
run at once, in parallel, so the module costs one TensorFlow import per script, not per test.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import app_test, baseline_settings, cifar_page, run_in_a_fresh_process


# One run of each page type is run as a script (the audio page's networks and its forest are written
# differently, so both). Frozen feature extraction is exported and checked below but not run: its
# script trains the same source CNN again, and the module must stay near two minutes.
RUN_IN_SUBPROCESS = ("sequence_gru", "cifar_fast", "audio_cnn", "audio_forest", "transfer_fine_tune", "feature_maps")
PAGE_RUNS = RUN_IN_SUBPROCESS + ("transfer_feature_extraction",)
RESULT_LINE = re.compile(r"^params=(\d+) test_accuracy=([0-9.]+)$")
SCRIPT_TIMEOUT = 240


@dataclasses.dataclass
class Exported:
    """One run, its script, and what running the script printed."""

    result: object
    script: str
    returncode: int = -1
    stdout: str = ""
    stderr: str = ""

    def reported(self) -> tuple[int, float]:
        last = self.stdout.strip().splitlines()[-1] if self.stdout.strip() else ""
        match = RESULT_LINE.match(last)
        assert match, f"last line {last!r}; stderr: {self.stderr[-2000:]}"
        return int(match.group(1)), float(match.group(2))


def _train_one_of_each_page_type() -> dict[str, object]:
    """The app's own path for each page, at the smallest sizes its widgets allow or smaller."""
    from core import transfer
    from core.audio.comparison import cnn_config
    from core.audio.feature_dataset import audio_features
    from core.audio.features import FeatureSettings
    from core.audio.forest import forest_config
    from core.datasets import load_dataset
    from core.sequence import sequence_config
    from core.training import TrainConfig, train

    runs: dict[str, object] = {}
    # Sequence models: the page's loader (offline: 8×8 digits standing in for MNIST), a GRU.
    digits = load_dataset("mnist", train_size=300, seed=0)
    runs["sequence_gru"] = train(sequence_config("gru", units=8, epochs=2, batch_size=32), digits)
    # CIFAR lab: the page's default recipe (flip+crop augmentation, one-cycle) on the offline stand-in.
    lab = baseline_settings()
    runs["cifar_fast"] = train(lab.train_config(), load_dataset(lab.dataset, per_class=lab.per_class, seed=lab.seed))
    # Audio: synthetic sounds → standardised log-mel features; the exercise's CNN and the random forest.
    sounds = load_dataset("synthetic_sounds", train_per_class=6, test_per_class=4, sample_rate=4000, clip_seconds=0.5)
    features = audio_features(sounds, FeatureSettings(sample_rate=4000, mel_bands=16))
    runs["audio_cnn"] = train(cnn_config(epochs=2, batch_size=16, patience=1), features)
    runs["audio_forest"] = train(forest_config(10), features)
    # Transfer: the offline digits demo, fine-tuning from the source CNN and frozen feature extraction.
    task = transfer.digits_transfer_task(per_class=5)
    spec = transfer.source_spec(transfer.train_source(task.source, epochs=1))
    for mode in ("fine_tune", "feature_extraction"):
        runs[f"transfer_{mode}"] = transfer.run_mode(mode, task.target, spec, epochs=2, batch_size=16).run
    # Feature maps: the cats-vs-dogs CNN on the offline stand-in (patches of scikit-learn's photos).
    photos = load_dataset("cats_vs_dogs", image_size=32, color="grayscale")
    runs["feature_maps"] = train(TrainConfig("cats_dogs_cnn", epochs=1, batch_size=32), photos)
    return runs


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Exported]:
    """Every page type's run, trained once in a module cache, exported, and its script run in parallel."""
    from core.codegen import keras_script

    cache = tmp_path_factory.mktemp("codegen_cache")
    scripts = tmp_path_factory.mktemp("codegen_scripts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLLAB_CACHE_DIR", str(cache))
        patch.setenv("DLLAB_OFFLINE", "1")
        patch.setenv("DLLAB_WORKERS", "0")  # fit in this process: a worker pool would only add start-up time
        patch.delenv("DLLAB_DATA_DIR", raising=False)
        runs = _train_one_of_each_page_type()
        exports = {name: Exported(result, keras_script(result)) for name, result in runs.items()}
    _run_scripts(exports, RUN_IN_SUBPROCESS, scripts, tmp_path_factory.mktemp("script_keras_home"))
    exports["_cache"] = cache  # type: ignore[assignment]
    return exports


def _run_scripts(exports: dict[str, Exported], names: tuple[str, ...], scripts: Path, keras_home: Path) -> None:
    """Write every script into ``scripts`` and run those in ``names`` there, in parallel, recording what they print."""
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("DLLAB_", "PYTHON"))
    }
    environment.update(TF_CPP_MIN_LOG_LEVEL="3", KERAS_HOME=str(keras_home))
    processes = {}
    for name, export in exports.items():
        path = scripts / f"{name}.py"
        path.write_text(export.script, encoding="utf-8")
        if name not in names:
            continue
        # Run from an empty folder with no PYTHONPATH: an import of DL Lab would fail here.
        processes[name] = subprocess.Popen(
            [sys.executable, str(path)], cwd=scripts, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
    for name, process in processes.items():
        try:
            stdout, stderr = process.communicate(timeout=SCRIPT_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        exports[name].returncode, exports[name].stdout, exports[name].stderr = process.returncode, stdout, stderr


@pytest.mark.parametrize("name", RUN_IN_SUBPROCESS)
def test_exported_script_reproduces_the_apps_parameters_and_accuracy(exported: dict[str, Exported], name: str) -> None:
    export = exported[name]
    assert export.returncode == 0, export.stderr[-3000:]
    params, accuracy = export.reported()
    assert params == export.result.params
    # Every run here is deterministic (seeded, no time budget), so the script must land within 2 points.
    assert abs(accuracy - export.result.test_accuracy) <= 0.02, (accuracy, export.result.test_accuracy)


@pytest.mark.parametrize("name", PAGE_RUNS)
def test_exported_script_is_standalone_and_honest_about_its_data(exported: dict[str, Exported], name: str) -> None:
    script = exported[name].script
    compile(script, f"{name}.py", "exec")
    assert not re.search(r"^\s*(from|import)\s+(core|ui|app_pages)\b", script, re.MULTILINE)
    assert script.rstrip().endswith('if __name__ == "__main__":\n    main()')
    assert f"SEED = {exported[name].result.config.seed}" in script
    if name != "audio_forest":
        assert "def build_model(" in script and "keras.utils.set_random_seed(SEED)" in script
    # Offline stand-ins are named as such, never passed off as the real dataset.
    stand_in = {"sequence_gru": "NOT real MNIST", "cifar_fast": "NOT real CIFAR-10", "feature_maps": "NOT cats and dogs"}
    if name in stand_in:
        assert stand_in[name] in script
    if name.startswith("audio"):
        assert "def synthetic_sounds(" in script and "def log_mel_features(" in script
    if name.startswith("transfer"):
        assert "def build_source_model(" in script and "load_source_data()" in script
    if name == "transfer_feature_extraction":
        # The frozen base runs once over the images; only the head is built and trained on its outputs.
        assert "def load_data(base: keras.Model)" in script and "data = load_data(pretrained_base)" in script
        assert 'pretrained_base = source_model.get_layer("base")' in script and "def build_base(" not in script


def test_training_settings_reach_the_script(exported: dict[str, Exported]) -> None:
    cifar = exported["cifar_fast"]
    config = cifar.result.config
    assert config.augment == "flip_crop" and config.lr_schedule == "one_cycle"
    assert "augment='flip_crop'" in cifar.script and "one_cycle=True" in cifar.script
    assert f"BATCH_SIZE = {config.batch_size}" in cifar.script and "keras.optimizers.Adam(LEARNING_RATE)" in cifar.script
    audio = exported["audio_cnn"].script
    assert "early_stopping_patience=1" in audio and "TrainingSchedule" not in audio
    assert "keras.optimizers.RMSprop(LEARNING_RATE)" in exported["sequence_gru"].script
    assert "RandomForestClassifier(n_estimators=TREES" in exported["audio_forest"].script
    assert "import keras" not in exported["audio_forest"].script


# ---------------------------------------------------------------------------------------------
# The architecture written back as code equals the builder's, layer by layer


ARCHITECTURES = (
    ("simple_rnn", (8, 8, 1), 10, {"units": 16}),
    ("lstm", (28, 28, 1), 10, {"units": 32}),
    ("row_cnn", (8, 8, 1), 10, {}),
    ("cifar_lenet", (28, 28, 1), 10, {"activation": "sigmoid"}),
    ("cifar_baseline", (32, 32, 3), 10, {}),
    ("cifar_inception", (32, 32, 3), 10, {}),
    ("cifar_residual", (32, 32, 3), 10, {"initializer": "he_normal"}),
    ("audio_rnn", (16, 30), 8, {"cell": "lstm"}),
    ("audio_rnn", (16, 30), 8, {"cell": "bilstm"}),
    ("transfer_full", (32, 32, 3), 5, {"base": "vgg16", "trainable": "last_block", "augment": ("flip", "rotation", "zoom")}),
    ("transfer_head", (1, 1, 512), 5, {}),
    ("mlp", (8, 8, 1), 10, {"hidden_units": 16, "dropout": 0.2}),
)


@pytest.mark.parametrize(("architecture", "input_shape", "classes", "options"), ARCHITECTURES)
def test_model_code_rebuilds_the_builders_network(tmp_path: Path, architecture, input_shape, classes, options) -> None:
    import keras
    from keras import layers

    from core.codegen_model import model_functions, read_model_config
    from core.models import build_model

    built = build_model(architecture, input_shape, classes, **options)
    built.save(tmp_path / "model.keras")
    namespace = {"keras": keras, "layers": layers}
    exec("\n\n".join(model_functions(read_model_config(tmp_path / "model.keras"))), namespace)
    rebuilt = namespace["build_model"]()
    assert rebuilt.count_params() == built.count_params()
    assert sum(int(np.prod(w.shape)) for w in rebuilt.trainable_weights) == sum(int(np.prod(w.shape)) for w in built.trainable_weights)

    def unnamed(value):  # Keras numbers names per session (input_layer_3, forward_lstm_1); they decide nothing
        if isinstance(value, dict):
            return {key: unnamed(item) for key, item in value.items() if key not in ("name", "shared_object_id", "keras_history", "input_layers", "output_layers")}
        return [unnamed(item) for item in value] if isinstance(value, (list, tuple)) else value

    def described(layer) -> tuple[str, str]:
        config = {key: value for key, value in layer.get_config().items() if key not in ("dtype", "backward_layer")}
        return type(layer).__name__, json.dumps(unnamed(config), sort_keys=True, default=str)

    assert [described(layer) for layer in rebuilt.layers] == [described(layer) for layer in built.layers]


# ---------------------------------------------------------------------------------------------
# Recipes: recorded with the run, old entries still readable, cache keys unchanged


def test_recipe_travels_into_the_cache_entry_and_old_entries_read_without_it(exported: dict[str, Exported]) -> None:
    from core.cache import DiskCache
    from core.codegen import ScriptUnavailable, keras_script
    from core.training import RUNS_NAMESPACE, list_cached_runs

    cache = DiskCache(exported["_cache"])
    stored = {run.key: run for run in list_cached_runs(cache=cache)}
    gru = exported["sequence_gru"].result
    assert stored[gru.key].data_recipe == {"loader": "mnist", "variant": "digits_fallback", "train_size": 300, "seed": 0}
    assert stored[exported["audio_cnn"].result.key].data_recipe["step"] == "audio_features"

    # An entry written before recipes existed: same file minus the field. It still reads, and says why there is no script.
    entry = next(folder for folder in cache.namespace_entries(RUNS_NAMESPACE) if folder.name == gru.key)
    record = json.loads((entry / "result.json").read_text(encoding="utf-8"))
    del record["data_recipe"]
    (entry / "result.json").write_text(json.dumps(record), encoding="utf-8")
    old = next(run for run in list_cached_runs(cache=cache) if run.key == gru.key)
    assert old.data_recipe is None and old.params == gru.params
    with pytest.raises(ScriptUnavailable, match="did not record how this run's data was made"):
        keras_script(old)


def test_recipe_is_not_part_of_the_fingerprint_or_the_cache_key() -> None:
    from core.datasets import Dataset, load_dataset
    from core.training import TrainConfig, run_key

    digits = load_dataset("digits")
    assert digits.recipe == {"loader": "digits", "seed": 0}
    bare = Dataset(digits.name, digits.x_train, digits.y_train, digits.x_test, digits.y_test, digits.class_names, digits.source)
    assert bare.recipe is None and bare.fingerprint == digits.fingerprint
    config = TrainConfig("mlp")
    assert run_key(config, bare) == run_key(config, digits)


@pytest.mark.parametrize(
    ("recipe", "reason"),
    (
        ({"loader": "image_zip", "name": "pets.zip"}, "uploaded zip"),
        ({"loader": "audio_npy", "source": "uploaded .npy files"}, "uploaded .npy"),
        ({"step": "audio_features", "of": {"loader": "audio_npy"}, "settings": None}, ".npy"),
        ({"loader": "cifar10-gray28", "variant": "png_folder", "per_class": 5, "test_per_class": None, "seed": 0}, "PNG folders"),
        ({"loader": "wav_zip", "folder": "sounds.zip"}, "uploaded zip of WAV"),
        ({"loader": "wav_folder", "folder": "sounds"}, "before DL Lab recorded where"),
        ({"step": "audio_features", "of": {"loader": "wav_zip", "folder": "s.zip"}, "settings": {}}, "uploaded zip"),
        ({"loader": "something_new"}, "does not know"),
    ),
)
def test_runs_that_cannot_be_remade_offer_no_script_and_say_why(exported: dict[str, Exported], recipe, reason) -> None:
    from core.codegen import ScriptUnavailable, keras_script

    run = dataclasses.replace(exported["sequence_gru"].result, data_recipe=recipe)
    with pytest.raises(ScriptUnavailable, match=reason):
        keras_script(run)


def test_a_run_whose_model_file_is_gone_offers_no_script(exported: dict[str, Exported], tmp_path: Path) -> None:
    from core.codegen import ScriptUnavailable, keras_script

    run = dataclasses.replace(exported["sequence_gru"].result, model_path=tmp_path / "evicted.keras")
    with pytest.raises(ScriptUnavailable, match="no longer in the cache"):
        keras_script(run)


def test_exporting_code_imports_no_tensorflow() -> None:
    output = run_in_a_fresh_process(
        """
        import core.codegen, ui.code_export
        from core.codegen_data import data_code
        code = data_code({"step": "audio_features", "of": {"loader": "synthetic_sounds", "train_per_class": 2,
                          "test_per_class": 1, "sample_rate": 4000, "clip_seconds": 0.5, "seed": 0},
                          "settings": {"sample_rate": 4000}, "validation_fraction": 0.1, "seed": 0})
        assert any("def log_mel_features" in helper for helper in code.helpers)
        """
    )
    assert output.strip().splitlines()[-1] == "HEAVY []"


# ---------------------------------------------------------------------------------------------
# The page: "Show the code" under the CIFAR lab's results


def test_cifar_page_shows_the_runs_script_and_offers_it_as_a_download(exported: dict[str, Exported], monkeypatch) -> None:
    from core.codegen import keras_script, script_file_name

    monkeypatch.setenv("DLLAB_CACHE_DIR", str(exported["_cache"]))
    monkeypatch.setenv("DLLAB_WORKERS", "0")
    run = exported["cifar_fast"].result
    at = cifar_page(timeout=120)
    assert not at.exception
    toggle = at.toggle(key="cifar_code_show")
    assert toggle.value is False and not at.code  # nothing is written until asked for
    toggle.set_value(True).run()
    assert not at.exception and not at.error
    shown = [block.value for block in at.code if "def build_model" in block.value]
    assert [text.rstrip() for text in shown] == [keras_script(run).rstrip()]
    assert run.key[:12] in shown[0]
    downloads = [element for element in at.get("download_button") if element.proto.label == "Download the script (.py)"]
    assert len(downloads) == 1
    assert script_file_name(run).endswith(".py")


def test_sequence_page_offers_no_code_before_a_run_exists(monkeypatch) -> None:
    monkeypatch.setenv("DLLAB_WORKERS", "0")  # no worker pool for a page that trains nothing here
    at = app_test("app_pages/sequence_models.py", timeout=60)
    assert not at.exception
    # No run yet at these settings: no toggle, nothing exported.
    assert not [toggle for toggle in at.toggle if toggle.key == "seq_code_show"]


# ---------------------------------------------------------------------------------------------
# Data folders on the server: FSDD, a WAV folder of class folders, the ELEC 576 gray CIFAR PNGs

# Every name the user controls is hostile: quotes, a quote triple, a backslash escape and a newline.
HOSTILE = 'odd "name" \'\'\' """ \\N{x}\nnext line'
FOLDER_RUNS = ("fsdd_cnn", "wav_classes_forest", "cifar_png_fast")


def _tone(frequency: float, seconds: float, rng: np.random.Generator, rate: int = 8000) -> np.ndarray:
    time = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * frequency * time) + 0.05 * rng.standard_normal(len(time))).astype(np.float32)


def _write_data_folders(data_dir: Path) -> Path:
    """FSDD-named recordings, a WAV folder of class folders and the ELEC 576 PNG folders, tiny, under ``data_dir``."""
    from PIL import Image

    from core.datasets.wav import write_wav

    rng = np.random.default_rng(0)
    recordings = data_dir / "fsdd" / "recordings"
    recordings.mkdir(parents=True)
    for digit in range(3):
        for index in range(10):  # 0–4 are FSDD's test recordings
            seconds = 0.4 + 0.02 * index  # shorter and longer than the clip: padded and trimmed
            write_wav(recordings / f"{digit}_jackson_{index}.wav", _tone(300 + 250 * digit, seconds, rng), 8000)
    sounds = data_dir / HOSTILE
    for label, name in enumerate(('hum "low"', "beep\n'high'")):
        (sounds / name).mkdir(parents=True)
        for index in range(6):
            write_wav(sounds / name / f"clip {index}.wav", _tone(400 + 900 * label, 0.6, rng), 8000)
    for split, count in (("Train", 12), ("Test", 5)):
        for label, name in enumerate(("cat \"x\"", "dog\n'y'")):
            folder = data_dir / "CIFAR10" / split / name
            folder.mkdir(parents=True)
            for index in range(count):
                pixels = np.clip(rng.normal(90 + 80 * label, 40, size=(28, 28)), 0, 255).astype(np.uint8)
                image = Image.fromarray(pixels, mode="L")
                # One colour image of another size per class: converted and resized as in the app.
                (image.convert("RGB").resize((32, 32)) if index == 0 else image).save(folder / f"Image{index:05d}.png")
    return sounds


def _load_script(path: Path) -> object:
    import importlib.util

    name = f"exported_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # @dataclass looks its module up while the script is being run
    try:
        spec.loader.exec_module(module)  # main() runs only as __main__
    finally:
        del sys.modules[name]
    return module


@pytest.fixture(scope="module")
def folder_exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Exported]:
    """One run per data folder, through the pages' own loaders with the data directory set, exported and run."""
    from core import settings
    from core.audio.comparison import cnn_config
    from core.audio.feature_dataset import audio_features
    from core.audio.features import FeatureSettings
    from core.audio.forest import forest_config
    from core.codegen import keras_script
    from core.datasets import load_dataset
    from core.training import train

    data_dir = tmp_path_factory.mktemp("codegen_data") / HOSTILE
    sounds = _write_data_folders(data_dir)
    scripts = tmp_path_factory.mktemp("codegen_folder_scripts")
    datasets, runs = {}, {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLLAB_CACHE_DIR", str(tmp_path_factory.mktemp("codegen_folder_cache")))
        patch.setenv("DLLAB_DATA_DIR", str(data_dir))
        patch.setenv("DLLAB_OFFLINE", "1")
        patch.setenv("DLLAB_WORKERS", "0")
        feature_settings = FeatureSettings(sample_rate=4000, mel_bands=16)
        # The audio page's two data-directory sources (ui/audio.py: fsdd_data, folder_data).
        fsdd = load_dataset("fsdd", sample_rate=4000, clip_seconds=0.5)
        assert fsdd.name == "fsdd" and len(fsdd.x_test) == 15
        datasets["fsdd_cnn"] = audio_features(fsdd, feature_settings)
        runs["fsdd_cnn"] = train(cnn_config(epochs=1, batch_size=16, patience=1), datasets["fsdd_cnn"])
        folder = load_dataset(
            "wav_folder", folder=sounds, sample_rate=4000, clip_seconds=0.5, dataset_name=sounds.name,
            fence=settings.data_dir(), shown_as=sounds.name,
        )
        datasets["wav_classes_forest"] = audio_features(folder, feature_settings)
        runs["wav_classes_forest"] = train(forest_config(10), datasets["wav_classes_forest"])
        # The CIFAR page finds the ELEC 576 folders in the data directory.
        lab = baseline_settings()
        datasets["cifar_png_fast"] = load_dataset(lab.dataset, per_class=8, seed=lab.seed)
        assert "ELEC 576" in datasets["cifar_png_fast"].source
        runs["cifar_png_fast"] = train(lab.train_config(), datasets["cifar_png_fast"])
        exports = {name: Exported(result, keras_script(result)) for name, result in runs.items()}
    _run_scripts(exports, FOLDER_RUNS, scripts, tmp_path_factory.mktemp("folder_keras_home"))
    for name, export in exports.items():
        export.dataset = datasets[name]  # type: ignore[attr-defined]
        export.path = scripts / f"{name}.py"  # type: ignore[attr-defined]
    return exports


@pytest.mark.parametrize("name", FOLDER_RUNS)
def test_data_folder_runs_export_a_script_that_reproduces_the_run(folder_exports: dict[str, Exported], name: str) -> None:
    export = folder_exports[name]
    script = export.script
    compile(script, f"{name}.py", "exec")
    assert not re.search(r"^\s*(from|import)\s+(core|ui|app_pages)\b", script, re.MULTILINE)
    # The folder is named once, as a Python literal, and the name cannot leak out of the docstring.
    recipe = export.result.data_recipe
    root = (recipe["of"] if "of" in recipe else recipe)["root"]
    assert HOSTILE in root and f"Path({root!r})" in script
    if name == "wav_classes_forest":  # the data directory fences the folder, and moves with it
        assert "FENCE = WAV_FOLDER.parent" in script
    assert _docstring_holds_the_header(script)
    assert export.returncode == 0, export.stderr[-3000:]
    params, accuracy = export.reported()
    assert params == export.result.params
    assert abs(accuracy - export.result.test_accuracy) <= 0.02, (accuracy, export.result.test_accuracy)


def _docstring_holds_the_header(script: str) -> bool:
    """The script's docstring holds the whole header, the hostile name included: no name broke out of it."""
    import ast

    docstring = " ".join((ast.get_docstring(ast.parse(script), clean=False) or "").split())
    return " ".join(HOSTILE.split()) in docstring and docstring.endswith("The last line it prints is params=<N> test_accuracy=<x>.")


@pytest.mark.parametrize("name", FOLDER_RUNS)
def test_data_folder_scripts_build_the_apps_arrays(folder_exports: dict[str, Exported], name: str) -> None:
    export = folder_exports[name]
    data = _load_script(export.path).load_data()
    dataset = export.dataset
    expected = {"x_train": dataset.x_train, "y_train": dataset.y_train, "x_test": dataset.x_test, "y_test": dataset.y_test}
    if dataset.x_val is not None:
        expected.update(x_val=dataset.x_val, y_val=dataset.y_val)
    assert sorted(data) == sorted(expected)
    for key, array in expected.items():
        assert data[key].dtype == array.dtype and np.array_equal(data[key], array), key


def test_an_uploaded_wav_zip_records_no_server_path_and_offers_no_script(tmp_path: Path) -> None:
    from core.codegen_data import DataNotExportable, data_code
    from core.datasets import load_dataset
    from core.datasets.wav import write_wav

    rng = np.random.default_rng(0)
    for label in ("a", "b"):
        (tmp_path / "unpacked" / label).mkdir(parents=True)
        for index in range(3):
            write_wav(tmp_path / "unpacked" / label / f"{index}.wav", _tone(500, 0.1, rng), 8000)
    # As ui/audio.py's zip_data reads an unpacked upload.
    dataset = load_dataset(
        "wav_folder", folder=tmp_path / "unpacked", clip_seconds=0.1, dataset_name="uploaded zip", shown_as="sounds.zip", uploaded=True
    )
    assert dataset.recipe == {"loader": "wav_zip", "folder": "sounds.zip"}
    with pytest.raises(DataNotExportable, match="uploaded zip"):
        data_code(dataset.recipe)
