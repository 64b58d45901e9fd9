"""Ask real Keras what our hand-worked RNN figures should be (the oracle for ``core.rnn``).

TensorFlow loads inside each function: the RNN-shapes page imports this module freely and only
pays the import when a student clicks "Verify with Keras".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.rnn.shapes import CELL_NAMES, RecurrentLayerSpec, Shape, describe_stack
from core.rnn.unrolled import TinyRnnWeights, check_sequence, keras_weight_arrays

# Real layers allocate their weights: keep the check well inside a shared server's memory.
MAX_CHECKED_PARAMS = 50_000_000


@dataclass(frozen=True)
class KerasLayerFacts:
    """What a real built Keras layer reports: its returned shapes, parameter count and weights."""

    code: str
    output_shapes: list[Shape]
    params: int
    weight_shapes: tuple[tuple[str, tuple[int, ...]], ...]


def _shape(tensor: object) -> Shape:
    return tuple(None if size is None else int(size) for size in tensor.shape)  # type: ignore[attr-defined]


def _layer(spec: RecurrentLayerSpec):
    from keras import layers

    options = {"return_sequences": spec.return_sequences, "return_state": spec.return_state}
    if spec.cell == "gru":
        options["reset_after"] = spec.reset_after
    cell_class = getattr(layers, CELL_NAMES[spec.cell])
    layer = cell_class(spec.units, **options)
    return layers.Bidirectional(layer) if spec.bidirectional else layer


def keras_stack_facts(
    layers: Sequence[RecurrentLayerSpec | Mapping[str, object]],
    *,
    timesteps: int,
    features: int,
    batch: int | None = None,
    concrete_input: bool = False,
) -> list[KerasLayerFacts]:
    """Build the stack in Keras and read each layer's real output shapes and ``count_params()``.

    With ``concrete_input`` (and a batch size) the layers run on a real zero tensor instead of a
    symbolic ``keras.Input``, so the shapes are those of actual computed arrays.
    """
    stack = describe_stack(layers, timesteps=timesteps, features=features, batch=batch)
    if stack.params > MAX_CHECKED_PARAMS:
        raise ValueError(
            f"this stack has {stack.params:,} parameters; building it in Keras would need about "
            f"{stack.params * 4 / 1e9:,.1f} GB of memory, so the check is limited to {MAX_CHECKED_PARAMS:,} parameters"
        )
    import keras

    specs = [
        RecurrentLayerSpec(r.cell, r.units, r.return_sequences, r.return_state, r.bidirectional, r.reset_after)
        for r in stack.layers
    ]
    if concrete_input:
        if batch is None:
            raise ValueError("a concrete input needs a batch size")
        tensor = np.zeros((batch, timesteps, features), dtype="float32")
    else:
        tensor = keras.Input(shape=(timesteps, features), batch_size=batch)
    facts = []
    for spec, report in zip(specs, stack.layers):
        layer = _layer(spec)
        result = layer(tensor)
        returned = list(result) if isinstance(result, (list, tuple)) else [result]
        facts.append(
            KerasLayerFacts(
                code=report.keras_code,
                output_shapes=[_shape(item) for item in returned],
                params=int(layer.count_params()),
                weight_shapes=tuple((weight.path, tuple(int(size) for size in weight.shape)) for weight in layer.weights),
            )
        )
        tensor = returned[0]
    return facts


def keras_rnn_facts(
    cell: str,
    *,
    timesteps: int,
    features: int,
    units: int,
    batch: int | None = None,
    return_sequences: bool = False,
    return_state: bool = False,
    bidirectional: bool = False,
    reset_after: bool = True,
    concrete_input: bool = False,
) -> KerasLayerFacts:
    """One real Keras recurrent layer's output shapes, parameter count and weight shapes."""
    spec = RecurrentLayerSpec(cell, units, return_sequences, return_state, bidirectional, reset_after)
    return keras_stack_facts([spec], timesteps=timesteps, features=features, batch=batch, concrete_input=concrete_input)[0]


def keras_simple_rnn_outputs(inputs: object, weights: TinyRnnWeights) -> tuple[np.ndarray, np.ndarray]:
    """Keras' SimpleRNN (return_sequences) and softmax Dense on one sequence, with the given weights.

    Returns the hidden states a⟨1..T⟩, shape (T, units), and ŷ⟨1..T⟩, shape (T, outputs).
    """
    import keras

    sequence = check_sequence(inputs, features=weights.features)
    rnn = keras.layers.SimpleRNN(weights.units, return_sequences=True)
    readout = keras.layers.Dense(weights.W_ya.shape[0], activation="softmax")
    batch = sequence[np.newaxis].astype("float32")
    rnn.build(batch.shape)
    readout.build((None, sequence.shape[0], weights.units))
    rnn_weights, dense_weights = keras_weight_arrays(weights)
    rnn.set_weights([array.astype("float32") for array in rnn_weights])
    readout.set_weights([array.astype("float32") for array in dense_weights])
    hidden = rnn(batch)
    probabilities = readout(hidden)
    return np.asarray(hidden)[0], np.asarray(probabilities)[0]


def keras_pattern_shapes(key: str) -> list[list[Shape]]:
    """Build one of :func:`core.rnn_patterns.sequence_patterns`' recipes in Keras; shapes per stage."""
    import keras
    from keras import layers

    from core.rnn.patterns import PATTERN_BATCH as batch

    if key == "one_to_one":
        inputs = keras.Input(shape=(784,), batch_size=batch)
        tensors: list[object] = [inputs, layers.Dense(10, activation="softmax")(inputs)]
    elif key == "one_to_many":
        inputs = keras.Input(shape=(256,), batch_size=batch)
        repeated = layers.RepeatVector(20)(inputs)
        hidden = layers.LSTM(128, return_sequences=True)(repeated)
        tensors = [inputs, repeated, hidden, layers.Dense(88, activation="softmax")(hidden)]
    elif key == "many_to_one":
        inputs = keras.Input(shape=(50, 100), batch_size=batch)
        hidden = layers.LSTM(64)(inputs)
        tensors = [inputs, hidden, layers.Dense(1, activation="sigmoid")(hidden)]
    elif key == "many_to_many_same":
        inputs = keras.Input(shape=(50, 100), batch_size=batch)
        hidden = layers.LSTM(64, return_sequences=True)(inputs)
        tensors = [inputs, hidden, layers.Dense(9, activation="softmax")(hidden)]
    elif key == "encoder_decoder":
        encoder_inputs = keras.Input(shape=(40, 100), batch_size=batch)
        encoded = layers.LSTM(64, return_state=True)(encoder_inputs)
        decoder_inputs = keras.Input(shape=(30, 120), batch_size=batch)
        decoded = layers.LSTM(64, return_sequences=True)(decoder_inputs, initial_state=list(encoded[1:]))
        tensors = [encoder_inputs, list(encoded), decoder_inputs, decoded, layers.Dense(5000, activation="softmax")(decoded)]
    else:
        raise ValueError(f"unknown pattern {key!r}")
    return [[_shape(item) for item in tensor] if isinstance(tensor, list) else [_shape(tensor)] for tensor in tensors]
