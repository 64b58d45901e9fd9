"""A saved Keras model's architecture written back as readable Keras code, for :mod:`core.codegen`.

A ``.keras`` file is a zip whose ``config.json`` describes every layer, its settings and how the
layers connect. Reading that (with :mod:`zipfile` and :mod:`json`, no TensorFlow) and writing one
``layers.X(...)`` line per layer gives the exact network that was trained, whichever builder
made it, so the exported script's parameter count equals the app's by construction. Settings
equal to Keras' defaults are left out so the lines read like hand-written code; anything not
known to be a default is written out, which is verbose at worst, never wrong.

Layers are created in the order of the saved graph, which is the order the app's builders
created them: Keras draws each unseeded initializer's seed when its layer is created, so the
same order under the same global seed gives the same starting weights.
"""

from __future__ import annotations

import json
import keyword
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ModelNotReadable(ValueError):
    """The saved model's architecture cannot be read or written back as code; the message says why."""


def read_model_config(path: Path) -> dict[str, Any]:
    """The architecture stored in a ``.keras`` file (its ``config.json``), read without TensorFlow."""
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json").decode("utf-8"))
    except (OSError, KeyError, zipfile.BadZipFile, ValueError, UnicodeDecodeError) as error:
        raise ModelNotReadable(f"the saved model {path.name} cannot be read: {error}") from None
    if not isinstance(config, dict) or config.get("class_name") not in ("Functional", "Model"):
        raise ModelNotReadable("the saved model is not a functional Keras model")
    return config


# ---------------------------------------------------------------------------------------------
# Keras' defaults, as they appear in a saved config: an argument equal to these is left out

_GLOROT_UNIFORM = {"class_name": "GlorotUniform", "config": {}}
_ZEROS = {"class_name": "Zeros", "config": {}}
_ONES = {"class_name": "Ones", "config": {}}
_ORTHOGONAL = {"class_name": "Orthogonal", "config": {"gain": 1.0}}

_COMMON_DEFAULTS: dict[str, Any] = {
    "trainable": True,
    "data_format": "channels_last",
    "use_bias": True,
    "kernel_initializer": _GLOROT_UNIFORM,
    "bias_initializer": _ZEROS,
    "kernel_regularizer": None,
    "bias_regularizer": None,
    "activity_regularizer": None,
    "kernel_constraint": None,
    "bias_constraint": None,
    "groups": 1,
    "seed": None,
    "noise_shape": None,
    "lora_rank": None,
    "lora_alpha": None,
    "quantization_config": None,
}
_RECURRENT_DEFAULTS: dict[str, Any] = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "recurrent_initializer": _ORTHOGONAL,
    "recurrent_regularizer": None,
    "recurrent_constraint": None,
    "unit_forget_bias": True,
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "return_sequences": False,
    "return_state": False,
    "go_backwards": False,
    "stateful": False,
    "unroll": False,
    "reset_after": True,
    "use_cudnn": "auto",
    "zero_output_for_mask": False,
    "implementation": 2,
}
_CLASS_DEFAULTS: dict[str, dict[str, Any]] = {
    "Dense": {"activation": "linear"},
    "Conv2D": {"activation": "linear", "padding": "valid", "strides": [1, 1], "dilation_rate": [1, 1]},
    "Conv1D": {"activation": "linear", "padding": "valid", "strides": [1], "dilation_rate": [1]},
    "MaxPooling2D": {"padding": "valid"},
    "AveragePooling2D": {"padding": "valid"},
    "GlobalAveragePooling2D": {"keepdims": False},
    "GlobalMaxPooling2D": {"keepdims": False},
    "BatchNormalization": {
        "axis": -1, "momentum": 0.99, "epsilon": 0.001, "center": True, "scale": True,
        "beta_initializer": _ZEROS, "gamma_initializer": _ONES, "moving_mean_initializer": _ZEROS,
        "moving_variance_initializer": _ONES, "beta_regularizer": None, "gamma_regularizer": None,
        "beta_constraint": None, "gamma_constraint": None, "synchronized": False,
        "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99,
    },
    "Concatenate": {"axis": -1},
    "SimpleRNN": _RECURRENT_DEFAULTS,
    "LSTM": _RECURRENT_DEFAULTS,
    "GRU": _RECURRENT_DEFAULTS,
    "Bidirectional": {"merge_mode": "concat", "weights": None},
    "RandomFlip": {"mode": "horizontal_and_vertical"},
    "RandomRotation": {"fill_mode": "reflect", "interpolation": "bilinear", "fill_value": 0.0, "value_range": [0, 255]},
    "RandomZoom": {"width_factor": None, "fill_mode": "reflect", "interpolation": "bilinear", "fill_value": 0.0, "value_range": [0, 255]},
}
# Never written: the dtype policy (float32 throughout), Keras' bookkeeping, and the backward copy a
# Bidirectional layer makes of its forward layer by itself.
_SKIPPED = {"name", "dtype", "build_config", "compile_config", "backward_layer", "registered_name", "shared_object_id"}
# The arguments each class takes first, written positionally: layers.Dense(10), layers.Conv2D(32, 3).
_POSITIONAL = {
    "Dense": ("units",),
    "Conv2D": ("filters", "kernel_size"),
    "Conv1D": ("filters", "kernel_size"),
    "MaxPooling2D": ("pool_size",),
    "AveragePooling2D": ("pool_size",),
    "Dropout": ("rate",),
    "SimpleRNN": ("units",),
    "LSTM": ("units",),
    "GRU": ("units",),
    "Reshape": ("target_shape",),
    "Permute": ("dims",),
    "Activation": ("activation",),
    "Bidirectional": ("layer",),
    "ZeroPadding2D": ("padding",),
    "RandomFlip": ("mode",),
    "RandomRotation": ("factor",),
    "RandomZoom": ("height_factor",),
}
# Pairs Keras accepts as one number when both sides are equal: kernel_size=3 means (3, 3).
_SQUARE = {"kernel_size", "pool_size", "strides", "dilation_rate"}
_INITIALIZER_DEFAULTS = {"seed": None, "input_axes": None, "output_axes": None, "mean": 0.0, "gain": 1.0}
_RESERVED = {"keras", "layers", "np", "tf", "x", "inputs", "outputs", "model"}


def _plain_initializer(value: Any) -> Any:
    """An initializer's saved config reduced to what decides its values (its class and non-default settings)."""
    if isinstance(value, Mapping) and "class_name" in value:
        settings = {key: item for key, item in dict(value.get("config") or {}).items() if _INITIALIZER_DEFAULTS.get(key, object()) != item}
        return {"class_name": value["class_name"], "config": settings}
    return value


def _is_default(class_name: str, key: str, value: Any, config: Mapping[str, Any]) -> bool:
    if key in ("strides",) and class_name in ("MaxPooling2D", "AveragePooling2D"):
        return value == config.get("pool_size") or value is None  # pooling strides default to the window
    defaults = {**_COMMON_DEFAULTS, **_CLASS_DEFAULTS.get(class_name, {})}
    if key not in defaults:
        return False
    return _plain_initializer(value) == _plain_initializer(defaults[key])


def _literal(value: Any, key: str = "") -> str:
    """Python source for a config value: lists become tuples, initializers become constructor calls."""
    if isinstance(value, Mapping) and "class_name" in value:
        module = str(value.get("module", ""))
        if module.startswith("keras.initializers") or value["class_name"] in ("GlorotUniform", "Zeros", "Ones", "Orthogonal"):
            settings = _plain_initializer(value)["config"]
            arguments = ", ".join(f"{name}={_literal(item)}" for name, item in settings.items())
            return f"keras.initializers.{value['class_name']}({arguments})"
        return layer_expression(value)
    if isinstance(value, (list, tuple)):
        if key in _SQUARE and value and all(item == value[0] for item in value) and isinstance(value[0], int):
            return repr(value[0])
        items = [_literal(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key_!r}: {_literal(item)}" for key_, item in value.items()) + "}"
    return repr(value)


def _auto_name(class_name: str, name: str) -> bool:
    """True for a name Keras made up (``dense_3``), which says nothing to a reader."""
    snake = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", class_name).lower().replace("2_d", "2d").replace("1_d", "1d")
    snake = re.sub(r"(?<=[a-z])(?=\d)", "", snake)
    return re.fullmatch(rf"{re.escape(snake)}(_\d+)?", name) is not None or re.fullmatch(r"input_layer(_\d+)?", name) is not None


def layer_expression(layer: Mapping[str, Any], *, named: bool = True) -> str:
    """``layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")`` for one saved layer."""
    class_name = str(layer["class_name"])
    config = dict(layer.get("config") or {})
    arguments = [_literal(config[key], key) for key in _POSITIONAL.get(class_name, ()) if key in config and key != "layer"]
    if class_name == "Bidirectional":  # Keras names the wrapped layer itself (forward_lstm)
        arguments.insert(0, layer_expression(config["layer"], named=False))
    positional = set(_POSITIONAL.get(class_name, ()))
    for key, value in config.items():
        if key in _SKIPPED or key in positional or key == "trainable" or _is_default(class_name, key, value, config):
            continue
        arguments.append(f"{key}={_literal(value, key)}")
    name = config.get("name")
    if named and isinstance(name, str) and not _auto_name(class_name, name):
        arguments.append(f"name={name!r}")
    if config.get("trainable") is False:
        arguments.append("trainable=False")
    return f"layers.{class_name}({', '.join(arguments)})"


# ---------------------------------------------------------------------------------------------
# The graph: which layer feeds which


def _history(arg: Any) -> list[str]:
    """The layer names a call argument refers to (one tensor, or a list of them for Add and Concatenate)."""
    if isinstance(arg, Mapping) and arg.get("class_name") == "__keras_tensor__":
        return [str(arg["config"]["keras_history"][0])]
    if isinstance(arg, (list, tuple)):
        return [name for item in arg for name in _history(item)]
    raise ModelNotReadable("the saved model calls a layer with something other than tensors")


def _endpoints(value: Any) -> list[str]:
    """Layer names of a model's ``input_layers`` / ``output_layers`` (one ``[name, 0, 0]`` or a list of them)."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value[0]]
    return [str(item[0]) for item in value or []]


def _variable(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W", "_", name).strip("_") or "tensor"
    if base[0].isdigit() or keyword.iskeyword(base) or base in _RESERVED:
        base = f"{base}_out"
    candidate, index = base, 2
    while candidate in taken:
        candidate, index = f"{base}_{index}", index + 1
    taken.add(candidate)
    return candidate


def model_functions(
    config: Mapping[str, Any], function_name: str = "build_model", *, before_inputs: str = "", parameters: str = ""
) -> list[str]:
    """Python source of ``def build_model():`` (and one function per nested model) that rebuilds ``config``.

    ``before_inputs`` is code placed after the nested models are built and before the input, where
    the app loads pretrained weights into them.
    """
    model = config.get("config") or {}
    saved_layers = list(model.get("layers") or [])
    if not saved_layers:
        raise ModelNotReadable("the saved model lists no layers")
    inputs, outputs = _endpoints(model.get("input_layers")), _endpoints(model.get("output_layers"))
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelNotReadable("only models with one input and one output are written out")
    uses: dict[str, list[int]] = {}
    calls: list[tuple[list[str], dict[str, Any]]] = []
    for position, layer in enumerate(saved_layers):
        nodes = layer.get("inbound_nodes") or []
        if len(nodes) > 1:
            raise ModelNotReadable(f"layer {layer.get('name')!r} is shared between several calls; that is not written out")
        sources: list[str] = []
        kwargs: dict[str, Any] = {}
        if nodes:
            node = nodes[0]
            if not isinstance(node, Mapping):
                raise ModelNotReadable("the saved model uses an older Keras format")
            sources = [name for arg in node.get("args", []) for name in _history(arg)]
            kwargs = dict(node.get("kwargs") or {})
        for source in sources:
            uses.setdefault(source, []).append(position)
        calls.append((sources, kwargs))

    functions: list[str] = []
    taken = set(_RESERVED)
    variables: dict[str, str] = {}
    nested_lines: list[str] = []
    body: list[str] = []
    for position, (layer, (sources, kwargs)) in enumerate(zip(saved_layers, calls)):
        name = str(layer.get("name") or layer["config"].get("name"))
        class_name = layer["class_name"]
        consumers = uses.get(name, [])
        if name in outputs:
            target = "outputs"
        elif class_name == "InputLayer":
            target = "inputs"
        elif consumers == [position + 1]:
            target = "x"  # a chain: the next layer reads it and nothing else does
        else:
            target = _variable(name, taken)
        variables[name] = target
        if class_name == "InputLayer":
            shape = tuple(layer["config"]["batch_shape"][1:])
            input_name = layer["config"].get("name", "")
            named = "" if _auto_name("InputLayer", input_name) else f", name={input_name!r}"
            body.append(f"{target} = keras.Input(shape={_literal(list(shape))}{named})")
            continue
        arguments = _call_arguments(sources, variables)
        if class_name in ("Functional", "Model"):
            nested = _variable(name, taken)
            nested_function = f"build_{nested}" if function_name == "build_model" else f"{function_name}_{nested}"
            functions += model_functions(layer, nested_function)
            nested_lines.append(f"{nested} = {nested_function}()")
            if layer["config"].get("trainable") is False:
                nested_lines.append(f"{nested}.trainable = False")
            training = ", training=False" if kwargs.get("training") is False else ""
            body.append(f"{target} = {nested}({arguments}{training})")
            continue
        if class_name == "Sequential":
            raise ModelNotReadable("nested Sequential models are not written out")
        # A layer's own recorded ``training`` flag is overridden by the model's at every call, so it is not written.
        body.append(f"{target} = {layer_expression(layer)}({arguments})")
    name_argument = f", name={model.get('name')!r}" if model.get("name") else ""
    lines = [f"def {function_name}({parameters}) -> keras.Model:"]
    lines += [f"    {line}" for line in nested_lines]
    if before_inputs:
        lines += [f"    {line}" if line else "" for line in before_inputs.splitlines()]
    lines += [f"    {line}" for line in body]
    lines.append(f"    return keras.Model(inputs, outputs{name_argument})")
    functions.append("\n".join(lines))
    return functions


def _call_arguments(sources: list[str], variables: Mapping[str, str]) -> str:
    names = [variables[source] for source in sources]
    if len(names) == 1:
        return names[0]
    return "[" + ", ".join(names) + "]"


def nested_model_names(config: Mapping[str, Any]) -> list[str]:
    """The names of the models nested inside ``config`` (a transfer model's ``base``)."""
    return [str(layer.get("name")) for layer in (config.get("config") or {}).get("layers", []) if layer.get("class_name") in ("Functional", "Model")]
