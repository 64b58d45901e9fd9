"""Show the code: a finished run as a standalone Python script that a student can read and run.

``keras_script(result)`` writes one script that needs Keras (on its TensorFlow backend), NumPy
and scikit-learn (Pillow for image data), and no DL Lab import. It remakes the run's data from
its standard place (``keras.datasets``, the folder the app read, scikit-learn for the offline
stand-ins, or the app's own small generator copied in), builds the same architecture (read from
the run's saved model, see :mod:`core.codegen_model`), and trains it with the same optimizer,
learning-rate schedule, augmentation, batch size, epochs and seed as the app's fit
(:mod:`core.training.fit`). Its last printed line is ``params=<N> test_accuracy=<x>``.

A run that cannot be exported faithfully (an upload the server no longer has, data whose recipe
was never recorded, a model file evicted from the cache) raises :class:`ScriptUnavailable` with
the reason, and the page says so instead of showing a script that would mislead.

Nothing here imports TensorFlow or Streamlit.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.codegen_data import DataCode, DataNotExportable, data_code
from core.codegen_model import ModelNotReadable, model_functions, read_model_config
from core.models.forest import FOREST_ARCHITECTURE
from core.training.config import RunResult, TrainConfig, one_cycle_rate

__all__ = ["ScriptUnavailable", "keras_script", "script_file_name"]


class ScriptUnavailable(ValueError):
    """This run has no faithful standalone script; the message says why, in words for the page."""


def script_file_name(result: RunResult) -> str:
    """A download name that says which run the script remakes."""
    architecture = "".join(char if char.isalnum() or char in "-_" else "-" for char in result.config.architecture)
    return f"dllab-{architecture}-{result.key[:8]}.py"


def keras_script(result: RunResult) -> str:
    """The run as a standalone Keras / NumPy / scikit-learn script; :class:`ScriptUnavailable` says why when it cannot be."""
    try:
        if result.config.architecture == FOREST_ARCHITECTURE:
            return _forest_script(result)
        return _keras_script(result)
    except (DataNotExportable, ModelNotReadable) as reason:
        raise ScriptUnavailable(str(reason)) from None


# ---------------------------------------------------------------------------------------------
# The pieces every script shares


@dataclass
class _Stage:
    """One trained model in the script: the run itself, or the source CNN a transfer run starts from."""

    result: RunResult
    data: DataCode
    model: list[str]  # the model-building functions


def _model_config(result: RunResult) -> dict[str, Any]:
    if result.model_path is None or not result.model_path.is_file():
        raise ScriptUnavailable(
            "this run's saved model is no longer in the cache, so its exact architecture cannot be read; train it again"
        )
    return read_model_config(result.model_path)


def _load_function(name: str, code: DataCode, *, takes_base: bool) -> str:
    signature = f"def {name}(base: keras.Model) -> dict[str, np.ndarray]:" if takes_base else f"def {name}() -> dict[str, np.ndarray]:"
    doc = '    """The arrays as the app held them: x_train, y_train, x_test, y_test (and x_val, y_val when the app had them)."""'
    body = [f"    {line}" if line else "" for line in code.lines]
    return "\n".join([signature, doc, *body, "    return data"])


def _header(result: RunResult, notes: list[str], requirements: str) -> str:
    config = result.config
    options = ", ".join(f"{name}={value!r}" for name, value in config.model_options if not name.endswith(("_path", "_digest")))
    lines = [
        f"DL Lab run {result.key[:12]}: {config.architecture}" + (f" ({options})" if options else "") + f" on {result.dataset_name}.",
        "",
        f"In the app it reached test accuracy {result.test_accuracy:.4f} with {result.params:,} parameters "
        f"after {result.epochs_run} epoch(s) ({result.status}).",
        f"Data, as the app described it: {result.dataset_source}",
        "",
        *notes,
        "",
        f"Needs {requirements}; it imports nothing from DL Lab.",
        "The last line it prints is params=<N> test_accuracy=<x>.",
    ]
    wrapped = [textwrap.fill(line, 100) if line else "" for line in lines]
    # Folder and class names reach this text (a run's source names its folder): fill() turns their newlines
    # into spaces, and escaping backslashes and quote triples keeps any name inside the docstring.
    text = "\n".join(wrapped).strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return '"""' + text + '\n"""'


def _section(title: str) -> str:
    return f"# {'-' * 93}\n# {title}"


def _settings_block(prefix: str, config: TrainConfig) -> str:
    lines = [
        f"{prefix}SEED = {config.seed}",
        f"{prefix}EPOCHS = {config.epochs}",
        f"{prefix}BATCH_SIZE = {config.batch_size}",
        f"{prefix}LEARNING_RATE = {config.learning_rate!r}",
    ]
    return "\n".join(lines)


_OPTIMIZERS = {
    "adam": "keras.optimizers.Adam({rate})",
    "rmsprop": "keras.optimizers.RMSprop({rate})",
    "sgd_momentum": "keras.optimizers.SGD({rate}, momentum=0.9)",
    "sgd": "keras.optimizers.SGD({rate})",
}

_INPUTS = '''
def as_model_input(x: np.ndarray) -> np.ndarray:
    """What the model sees: uint8 images become float32 in [0, 1]; other arrays become float32."""
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    return x.astype(np.float32, copy=False)
'''.strip()

_AUGMENTER = '''
def augmenter(kind: str, image_shape: tuple[int, ...]):
    """Random left-right flips, plus (flip_crop) a reflect-padded random crop back to the image size."""
    height, width = image_shape[0], image_shape[1]
    pad = max(1, min(height, width) // 8)

    def augment(images, labels):
        images = tf.image.random_flip_left_right(images)
        if kind == "flip_crop":
            padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
            images = tf.image.random_crop(padded, tf.shape(images))
        return images, labels

    return augment
'''.strip()


def _pipeline(with_augment: bool) -> str:
    augment_lines = (
        "    if training and augment != \"none\" and x.ndim == 4:\n"
        "        dataset = dataset.map(augmenter(augment, x.shape[1:]), num_parallel_calls=1)\n"
        if with_augment
        else ""
    )
    return (
        "def input_pipeline(x: np.ndarray, y: np.ndarray, *, batch_size: int, seed: int, training: bool, augment: str = \"none\"):\n"
        '    """A tf.data pipeline, shuffled with the run\'s seed and repeated when training.\n\n'
        "    The app feeds Keras this way because, on small CPUs, model.fit on NumPy arrays stalls for\n"
        "    seconds at many epoch starts (tf.data autotuning), which is also why autotuning is off.\n"
        '    """\n'
        "    dataset = tf.data.Dataset.from_tensor_slices((as_model_input(x), y))\n"
        "    if training:\n"
        "        dataset = dataset.shuffle(min(len(x), 10_000), seed=seed, reshuffle_each_iteration=True)\n"
        "    dataset = dataset.batch(batch_size)\n"
        f"{augment_lines}"
        "    if training:\n"
        "        dataset = dataset.repeat()\n"
        "    dataset = dataset.prefetch(2)\n"
        "    options = tf.data.Options()\n"
        "    options.autotune.enabled = False\n"
        "    return dataset.with_options(options)"
    )


_SCHEDULE = '''
class TrainingSchedule(keras.callbacks.Callback):
    """The one-cycle learning rate, the time budget and the step limit, as the app's training loop runs them.

    Training progress is the largest of: steps done / all steps, steps done / the step limit, and
    seconds trained / the time budget (per-epoch evaluation time is not counted as training).
    """

    def __init__(self, *, total_steps: int, peak_rate: float, one_cycle: bool, time_budget_seconds: float | None,
                 max_steps: int | None) -> None:
        super().__init__()
        self.total_steps, self.peak_rate, self.one_cycle = total_steps, peak_rate, one_cycle
        self.time_budget_seconds, self.max_steps = time_budget_seconds, max_steps
        self.steps_done = 0
        self.evaluation_seconds = 0.0
        self.started = self.evaluating_since = 0.0

    def on_train_begin(self, logs=None) -> None:
        self.started = time.perf_counter()

    def on_test_begin(self, logs=None) -> None:
        self.evaluating_since = time.perf_counter()

    def on_test_end(self, logs=None) -> None:
        self.evaluation_seconds += time.perf_counter() - self.evaluating_since

    def training_seconds(self) -> float:
        return time.perf_counter() - self.started - self.evaluation_seconds

    def fraction(self) -> float:
        done = self.steps_done / self.total_steps
        if self.max_steps is not None:
            done = max(done, self.steps_done / self.max_steps)
        if self.time_budget_seconds:
            done = max(done, self.training_seconds() / self.time_budget_seconds)
        return min(done, 1.0)

    def on_train_batch_begin(self, batch, logs=None) -> None:
        if self.one_cycle:
            self.model.optimizer.learning_rate.assign(one_cycle_rate(self.fraction(), self.peak_rate))

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.steps_done += 1
        if self.time_budget_seconds is not None and self.training_seconds() >= self.time_budget_seconds:
            self.model.stop_training = True
        if self.max_steps is not None and self.steps_done >= self.max_steps:
            self.model.stop_training = True
'''.strip()


def _fit_function(configs: list[TrainConfig]) -> str:
    scheduled = any(c.lr_schedule == "one_cycle" or c.time_budget_seconds is not None or c.max_steps is not None for c in configs)
    augmented = any(c.augment != "none" for c in configs)
    lines = [
        "def fit_and_score(model: keras.Model, data: dict[str, np.ndarray], *, seed: int, epochs: int, batch_size: int,",
        "                  learning_rate: float, augment: str = \"none\", one_cycle: bool = False,",
        "                  early_stopping_patience: int | None = None, time_budget_seconds: float | None = None,",
        "                  max_steps: int | None = None) -> float:",
        '    """Train the compiled model as the app does and return its test accuracy."""',
        "    binary = model.output_shape[-1] == 1  # one sigmoid unit: a binary classifier",
        "    label_type = np.float32 if binary else np.int64",
        '    y_train, y_test = data["y_train"].astype(label_type), data["y_test"].astype(label_type)',
        '    steps_per_epoch = max(1, math.ceil(len(data["x_train"]) / batch_size))',
        "    if max_steps is not None:",
        "        epochs = max(1, math.ceil(max_steps / steps_per_epoch))",
        '    train = input_pipeline(data["x_train"], y_train, batch_size=batch_size, seed=seed, training=True'
        + (", augment=augment)" if augmented else ")"),
        '    test = input_pipeline(data["x_test"], y_test, batch_size=batch_size, seed=seed, training=False)',
        "    # Per-epoch curves (and early stopping) use the validation split when there is one, else the test set.",
        "    validation = test",
        '    if "x_val" in data:',
        '        y_val = data["y_val"].astype(label_type)',
        '        validation = input_pipeline(data["x_val"], y_val, batch_size=batch_size, seed=seed, training=False)',
        "    callbacks = [keras.callbacks.TerminateOnNaN()]  # a diverged run stops, as in the app",
    ]
    if scheduled:
        lines += [
            "    callbacks.append(TrainingSchedule(",
            "        total_steps=epochs * steps_per_epoch, peak_rate=learning_rate, one_cycle=one_cycle,",
            "        time_budget_seconds=time_budget_seconds, max_steps=max_steps,",
            "    ))",
        ]
    lines += [
        "    if early_stopping_patience is not None:",
        "        callbacks.append(keras.callbacks.EarlyStopping(",
        '            monitor="val_loss", patience=early_stopping_patience, restore_best_weights=True',
        "        ))",
        "    model.fit(",
        "        train, epochs=epochs, steps_per_epoch=steps_per_epoch, validation_data=validation,",
        "        callbacks=callbacks, shuffle=False, verbose=2,  # the pipeline already shuffles",
        "    )",
        "    predictions = model.predict(test, verbose=0)",
        "    if binary:",
        "        return float(np.mean((predictions.reshape(-1) >= 0.5) == (y_test >= 0.5)))",
        "    return float(np.mean(predictions.argmax(axis=1) == y_test))",
    ]
    return "\n".join(lines)


def _fit_call(config: TrainConfig, model: str, data: str, prefix: str = "") -> list[str]:
    loss_line = 'loss = "binary_crossentropy" if ' + model + '.output_shape[-1] == 1 else "sparse_categorical_crossentropy"'
    optimizer = _OPTIMIZERS[config.optimizer].format(rate=f"{prefix}LEARNING_RATE")
    arguments = [f"seed={prefix}SEED", f"epochs={prefix}EPOCHS", f"batch_size={prefix}BATCH_SIZE", f"learning_rate={prefix}LEARNING_RATE"]
    if config.augment != "none":
        arguments.append(f"augment={config.augment!r}")
    if config.lr_schedule == "one_cycle":
        arguments.append("one_cycle=True")
    if config.early_stopping_patience is not None:
        arguments.append(f"early_stopping_patience={config.early_stopping_patience}")
    if config.time_budget_seconds is not None:
        arguments.append(f"time_budget_seconds={config.time_budget_seconds!r}")
    if config.max_steps is not None:
        arguments.append(f"max_steps={config.max_steps}")
    return [
        loss_line,
        f"{model}.compile(optimizer={optimizer}, loss=loss, metrics=[\"accuracy\"])",
        f"{prefix.lower()}accuracy = fit_and_score({model}, {data}, {', '.join(arguments)})",
    ]


def _seed_lines(prefix: str) -> list[str]:
    return [
        "# A fresh Keras session and one seed for Python, NumPy and TensorFlow, as the app sets before every fit.",
        "# Keras draws each layer's initializer seed when the layer is created, so building the layers in the",
        "# same order under this seed gives the same starting weights.",
        "keras.backend.clear_session()",
        f"keras.utils.set_random_seed({prefix}SEED)",
    ]


def _training_notes(config: TrainConfig) -> list[str]:
    notes = []
    if config.time_budget_seconds is not None:
        notes.append(
            f"Training stops after {config.time_budget_seconds:g} s, as in the app: how far it gets depends on the "
            "machine, so its accuracy can differ from the app's."
        )
    if config.augment != "none":
        notes.append("Random augmentation draws from the seeded TensorFlow generator, as in the app.")
    return notes


# ---------------------------------------------------------------------------------------------
# Keras runs (and a transfer run's source CNN)


def _transfer_plan(result: RunResult) -> tuple[str, list[str], _Stage | None]:
    """For transfer runs: the code that gets the pretrained base (before the run's seed), its notes, and the source stage."""
    options = result.config.model_kwargs
    architecture = result.config.architecture
    kind = options.get("base")
    digest = options.get("weights_digest")
    if architecture not in ("transfer_full", "transfer_head") or kind is None:
        return "", [], None
    pretrained = digest is not None and (architecture == "transfer_head" or options.get("weights_path"))
    if kind == "small_cnn":
        if not pretrained:
            return "", [], None
        from core.training.engine import run_by_key

        source = run_by_key(str(digest))
        if source is None:
            raise ScriptUnavailable(
                "the source CNN this run transferred from is no longer in the cache, so its training cannot be written out"
            )
        config = _model_config(source)
        code = data_code(source.data_recipe)
        stage = _Stage(source, code, model_functions(config, "build_source_model"))
        lines = [
            "# Step 1: the source CNN learns the source task; its convolutions are the pretrained base.",
            "source_data = load_source_data()",
            *_seed_lines("SOURCE_"),
            "source_model = build_source_model()",
            *_fit_call(source.config, "source_model", "source_data", "SOURCE_"),
            'print(f"source CNN: test accuracy {source_accuracy:.4f} on its own task")',
        ]
        if architecture == "transfer_head":
            lines.append('pretrained_base = source_model.get_layer("base")  # its trained convolutions, frozen from here on')
        else:
            lines += [
                "# The app keeps the trained source CNN as a .keras file and reloads it to copy its convolutions.",
                'source_file = os.path.join(tempfile.mkdtemp(), "source_cnn.keras")',
                "source_model.save(source_file)",
            ]
        notes = [
            "The base comes from a source CNN that the app trained first on another task; this script trains it "
            "the same way (step 1) before the run itself."
        ]
        return "\n".join(lines), notes, stage
    if kind == "vgg16":
        if not pretrained:
            if architecture == "transfer_head":
                note = (
                    "The app had no ImageNet weights, so its frozen VGG16 base was random: this script's random base "
                    "is drawn differently, and its accuracy can differ from the app's."
                )
                lines = [
                    "# No ImageNet weights: the frozen base is a randomly initialised VGG16.",
                    "keras.utils.set_random_seed(SEED)",
                    "pretrained_base = keras.applications.VGG16(include_top=False, weights=None, input_shape=INPUT_SHAPE)",
                ]
                return "\n".join(lines), [note], None
            return "", [], None
        note = (
            "The pretrained base is VGG16's ImageNet convolutions from keras.applications (downloaded once into "
            "~/.keras/models); the app read the same published weights from a local file."
        )
        lines = [
            "# VGG16's ImageNet convolutions (include_top=False): the pretrained base.",
            'pretrained_base = keras.applications.VGG16(include_top=False, weights="imagenet", input_shape=INPUT_SHAPE)',
        ]
        return "\n".join(lines), [note], None
    raise ScriptUnavailable(f"the exporter does not know the transfer base {kind!r}")


def _keras_script(result: RunResult) -> str:
    config = _model_config(result)
    code = data_code(result.data_recipe)
    base_code, base_notes, source = _transfer_plan(result)
    loads_weights = result.config.architecture == "transfer_full" and bool(base_code) and "weights=None" not in base_code
    from_file = loads_weights and source is not None
    if from_file:
        parameters, call = "source_file: str", "build_model(source_file)"
        before = (
            "# Reloading the source CNN, as the app does, also draws Keras' default seeds, so the head below\n"
            "# starts from the same weights as in the app.\n"
            "source = keras.models.load_model(source_file)\n"
            'base.set_weights(source.get_layer("base").get_weights())  # start from the pretrained convolutions'
        )
    elif loads_weights:
        parameters, call = "pretrained_base: keras.Model", "build_model(pretrained_base)"
        before = "base.set_weights(pretrained_base.get_weights())  # start from the pretrained convolutions"
    else:
        parameters, call, before = "", "build_model()", ""
    model = model_functions(config, "build_model", parameters=parameters, before_inputs=before)
    stages = [source] if source is not None else []
    codes = [stage.data for stage in stages] + [code]
    helpers: list[str] = []
    for part in codes:
        helpers += [helper for helper in part.helpers if helper not in helpers]
    needs_pillow = any(part.needs_pillow for part in codes)
    configs = [stage.result.config for stage in stages] + [result.config]
    notes = list(dict.fromkeys([note for part in codes for note in part.notes] + base_notes + _training_notes(result.config)))
    requirements = "keras (with TensorFlow), numpy and scikit-learn" + (", and Pillow for the images" if needs_pillow else "")

    parts = [_section("Settings: the run's training configuration")]
    settings = [_settings_block("", result.config)]
    if source is not None:
        settings.append("# The source CNN's own run\n" + _settings_block("SOURCE_", source.result.config))
    if "INPUT_SHAPE" in base_code:
        settings.append(f"INPUT_SHAPE = {tuple(_input_shape(result))!r}  # the images' shape, as the base sees them")
    parts.append("\n\n".join(settings))
    if helpers:
        parts += [_section("Helpers copied from DL Lab's own code, unchanged"), "\n\n\n".join(helpers)]
    parts.append(_section("Data"))
    if source is not None:
        parts.append(_load_function("load_source_data", source.data, takes_base=False))
    parts.append(_load_function("load_data", code, takes_base=code.uses_base))
    parts.append(_section("Model: the architecture read from the app's saved model"))
    if source is not None:
        parts.append("\n\n\n".join(source.model))
    parts.append("\n\n\n".join(model))
    parts.append(_section("Training"))
    training = [_INPUTS]
    if any(c.augment != "none" for c in configs):
        training.append(_AUGMENTER)
    training.append(_pipeline(any(c.augment != "none" for c in configs)))
    if any(c.lr_schedule == "one_cycle" or c.time_budget_seconds is not None or c.max_steps is not None for c in configs):
        training += [textwrap.dedent(inspect.getsource(one_cycle_rate)).rstrip(), _SCHEDULE]
    training.append(_fit_function(configs))
    parts.append("\n\n\n".join(training))

    main = ["def main() -> None:"]
    body: list[str] = []
    if base_code:
        body += base_code.splitlines() + [""]
    body.append("data = load_data(pretrained_base)" if code.uses_base else "data = load_data()")
    body += _seed_lines("")
    body.append(f"model = {call}")
    body.append("model.summary()")
    body += _fit_call(result.config, "model", "data")
    body.append('print(f"params={model.count_params()} test_accuracy={accuracy:.6f}")')
    main += [f"    {line}" if line else "" for line in body]
    parts.append("\n".join(main))
    parts.append('if __name__ == "__main__":\n    main()')
    body_text = "\n\n\n".join(parts)
    third_party = "import keras\nimport numpy as np\n" + (
        "import tensorflow as tf  # Keras' backend here: tf.data feeds the model"
        + (" and tf.signal makes the spectrograms" if "tf.signal." in body_text else "")
        + ", as in the app\nfrom keras import layers"
    )
    return "\n\n\n".join([_header(result, notes, requirements), _imports(body_text, third_party), body_text]) + "\n"


def _imports(body: str, third_party: str) -> str:
    """The import block: the standard modules the script's text really uses, then the third-party ones."""
    standard = [
        line
        for line, used in (
            ("import io", re.search(r"(?<![\w.])io\.", body)),
            ("import math", re.search(r"\bmath\.", body)),
            ("import os", re.search(r"\bos\.", body)),
            ("import re", re.search(r"(?<![\w.])re\.", body)),
            ("import struct", re.search(r"(?<![\w.])struct\.", body)),
            ("import tempfile", re.search(r"\btempfile\.", body)),
            ("import time", re.search(r"\btime\.", body)),
            ("import wave", re.search(r"(?<![\w.])wave\.", body)),
            ("from dataclasses import dataclass", "@dataclass" in body),
            ("from fractions import Fraction", re.search(r"\bFraction\(", body)),
            ("from pathlib import Path", re.search(r"\bPath\(", body)),
        )
        if used
    ]
    return "from __future__ import annotations\n\n" + ("\n".join(standard) + "\n\n" if standard else "") + third_party


def _input_shape(result: RunResult) -> tuple[int, ...]:
    """The shape of one input image, read from the saved model (or, for a head, from its data's recipe)."""
    recipe: Mapping[str, Any] | None = result.data_recipe
    while isinstance(recipe, Mapping) and recipe.get("step") == "bottleneck_features":
        recipe = recipe.get("of")
    while isinstance(recipe, Mapping) and "of" in recipe:
        recipe = recipe.get("of")
    if isinstance(recipe, Mapping) and "image_size" in recipe:
        size = int(recipe["image_size"])
        # VGG16 sees three channels: grayscale images are repeated into R, G and B by its preprocessing.
        return (size, size, 3)
    config = _model_config(result)
    shape = config["config"]["layers"][0]["config"]["batch_shape"][1:]
    return tuple(int(n) for n in shape)


# ---------------------------------------------------------------------------------------------
# The random forest: scikit-learn only


def _forest_script(result: RunResult) -> str:
    code = data_code(result.data_recipe)
    trees = int(result.config.model_kwargs.get("trees", 100))
    classes = int(result.test_predictions.shape[1]) if result.test_predictions.ndim == 2 else 2
    notes = code.notes + [
        "The forest reads each example's features flattened into one long vector; its size is counted in tree "
        "nodes (the params in the last line), where a network counts weights."
    ]
    requirements = "numpy and scikit-learn" + (" (and TensorFlow for the spectrograms)" if "tf.signal" in "".join(code.helpers) else "")
    parts = [
        _section("Settings"),
        f"SEED = {result.config.seed}\nTREES = {trees}\nNUM_CLASSES = {classes}",
    ]
    if code.helpers:
        parts += [_section("Helpers copied from DL Lab's own code, unchanged"), "\n\n\n".join(code.helpers)]
    parts += [_section("Data"), _load_function("load_data", code, takes_base=False), _section("The random forest")]
    main = [
        "def main() -> None:",
        "    data = load_data()",
        "    x_train = data[\"x_train\"].reshape(len(data[\"x_train\"]), -1)",
        "    x_test = data[\"x_test\"].reshape(len(data[\"x_test\"]), -1)",
        "    # Seeded, so the same trees grow every time (n_jobs=-1 uses every core and changes nothing else).",
        "    forest = RandomForestClassifier(n_estimators=TREES, random_state=SEED, n_jobs=-1)",
        "    forest.fit(x_train, data[\"y_train\"])",
        "    # A forest only knows the classes it saw in training; spread its answers over all of them.",
        "    probabilities = np.zeros((len(x_test), NUM_CLASSES), dtype=np.float32)",
        "    probabilities[:, forest.classes_.astype(np.int64)] = forest.predict_proba(x_test)",
        "    accuracy = float(np.mean(probabilities.argmax(axis=1) == data[\"y_test\"]))",
        "    nodes = sum(tree.tree_.node_count for tree in forest.estimators_)",
        '    print(f"params={nodes} test_accuracy={accuracy:.6f}")',
    ]
    parts += ["\n".join(main), 'if __name__ == "__main__":\n    main()']
    body_text = "\n\n\n".join(parts)
    third_party = "import numpy as np\n" + (
        "import tensorflow as tf  # only tf.signal, for the spectrograms, as in the app\n" if "tf.signal." in body_text else ""
    ) + "from sklearn.ensemble import RandomForestClassifier"
    return "\n\n\n".join([_header(result, notes, requirements), _imports(body_text, third_party), body_text]) + "\n"
