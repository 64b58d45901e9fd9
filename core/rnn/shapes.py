"""Shapes and parameter counts of Keras recurrent layers, worked out by hand (no TensorFlow).

An RNN layer reads a 3-D tensor ``(batch, timesteps, features)`` and keeps a hidden state of
``units`` numbers per sequence. :func:`describe_rnn` says what comes out of one layer, in the
order and form Keras returns it, how many weights it learns and which gate each weight feeds;
:func:`describe_stack` chains layers and explains why every layer but the last must return
sequences. ``tests/test_rnn_keras.py`` checks every figure here against real Keras layers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

CELLS: tuple[str, ...] = ("simple_rnn", "lstm", "gru")
CELL_NAMES: dict[str, str] = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}

# Gate order inside Keras' fused kernels: LSTM packs [i, f, c, o], GRU packs [z, r, h].
CELL_GATES: dict[str, tuple[str, ...]] = {
    "simple_rnn": ("hidden state a⟨t⟩ (tanh)",),
    "lstm": ("input gate i", "forget gate f", "cell candidate c̃", "output gate o"),
    "gru": ("update gate z", "reset gate r", "candidate state h̃"),
}

AXIS_MEANINGS: dict[str, str] = {
    "batch": "batch: independent sequences",
    "timesteps": "timesteps: positions in the sequence",
    "features": "features: numbers per step",
    "units": "units: size of the hidden state",
}

Shape = tuple[int | None, ...]


@dataclass(frozen=True)
class WeightTensor:
    """One trainable tensor of a recurrent layer, as Keras stores it."""

    name: str
    shape: tuple[int, ...]
    role: str
    gates: tuple[str, ...]
    meaning: str
    direction: str | None = None

    @property
    def count(self) -> int:
        """How many numbers the tensor holds."""
        total = 1
        for size in self.shape:
            total *= size
        return total


@dataclass(frozen=True)
class OutputTensor:
    """One tensor a recurrent layer returns, with what its axes mean."""

    name: str
    shape: Shape
    meaning: str


@dataclass(frozen=True)
class RnnReport:
    """Everything about one recurrent layer: input, outputs (Keras order), weights and formula."""

    cell: str
    layer_name: str
    batch: int | None
    timesteps: int
    features: int
    units: int
    return_sequences: bool
    return_state: bool
    bidirectional: bool
    reset_after: bool
    input_shape: Shape
    output_shapes: list[Shape]
    outputs: tuple[OutputTensor, ...]
    params: int
    params_per_direction: int
    weights: tuple[WeightTensor, ...]
    gates: tuple[str, ...]
    formula: str
    formula_filled: str
    formula_reason: str
    params_reset_after_false: int | None

    @property
    def next_input_shape(self) -> Shape:
        """The tensor a following layer receives: the main output (states are side outputs)."""
        return self.output_shapes[0]

    @property
    def keras_code(self) -> str:
        """The Keras line that builds this layer."""
        arguments = [str(self.units)]
        if self.return_sequences:
            arguments.append("return_sequences=True")
        if self.return_state:
            arguments.append("return_state=True")
        if self.cell == "gru" and not self.reset_after:
            arguments.append("reset_after=False")
        code = f"layers.{self.layer_name}({', '.join(arguments)})"
        return f"layers.Bidirectional({code})" if self.bidirectional else code


@dataclass(frozen=True)
class RecurrentLayerSpec:
    """One layer of a stack: the arguments :func:`describe_rnn` takes besides the input sizes."""

    cell: str
    units: int
    return_sequences: bool = False
    return_state: bool = False
    bidirectional: bool = False
    reset_after: bool = True


@dataclass(frozen=True)
class StackReport:
    """Stacked recurrent layers: each layer's report, with shapes flowing from one to the next."""

    input_shape: Shape
    layers: tuple[RnnReport, ...]

    @property
    def output_shapes(self) -> list[Shape]:
        """What the last layer returns, in Keras order."""
        return self.layers[-1].output_shapes

    @property
    def params(self) -> int:
        """Trainable parameters of the whole stack."""
        return sum(layer.params for layer in self.layers)


def _check_size(name: str, value: object, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        accepted = "a positive whole number or None" if allow_none else "a positive whole number"
        raise ValueError(f"{name} must be {accepted}, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be at least 1, got {value}: a tensor axis cannot be empty or negative")


def _check_flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def _check_cell(cell: object) -> str:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    return str(cell)


def cell_params(cell: str, *, features: int, units: int, reset_after: bool = True) -> int:
    """Trainable parameters of one direction of a recurrent layer, exactly as Keras counts them."""
    cell = _check_cell(cell)
    _check_size("features", features)
    _check_size("units", units)
    per_block = units * (units + features + 1)
    if cell == "simple_rnn":
        return per_block
    if cell == "lstm":
        return 4 * per_block
    # reset_after keeps a separate recurrent bias so the reset gate can act after the matmul (cuDNN style).
    return 3 * units * (units + features + (2 if reset_after else 1))


def _formula(cell: str, reset_after: bool) -> tuple[str, str]:
    """The symbolic formula and the sentence that justifies each term."""
    if cell == "simple_rnn":
        return (
            "units·(units + features + 1)",
            "Each of the units hidden numbers has one weight per previous hidden number (units), "
            "one per input feature (features) and one bias (1).",
        )
    if cell == "lstm":
        return (
            "4·units·(units + features + 1)",
            "An LSTM repeats the SimpleRNN block four times, once per gate (input, forget, cell "
            "candidate, output), each with its own recurrent weights, input weights and bias.",
        )
    if reset_after:
        return (
            "3·units·(units + features + 2)",
            "A GRU has three blocks (update, reset, candidate). Keras' default reset_after=True "
            "gives each block two biases, one for the input part and one for the recurrent part, "
            "so the reset gate can be applied after the recurrent matmul: hence + 2.",
        )
    return (
        "3·units·(units + features + 1)",
        "A GRU has three blocks (update, reset, candidate), each with recurrent weights, input "
        "weights and one bias (the classic formulation, reset_after=False).",
    )


def _filled(cell: str, reset_after: bool, features: int, units: int) -> str:
    if cell == "simple_rnn":
        return f"{units}·({units} + {features} + 1)"
    if cell == "lstm":
        return f"4·{units}·({units} + {features} + 1)"
    return f"3·{units}·({units} + {features} + {2 if reset_after else 1})"


def _weights(cell: str, features: int, units: int, reset_after: bool, direction: str | None) -> tuple[WeightTensor, ...]:
    gates = CELL_GATES[cell]
    width = len(gates) * units
    stacked = f"{len(gates)} blocks of {units} side by side, one per gate" if len(gates) > 1 else f"{units} hidden units"
    kernel = WeightTensor(
        "kernel",
        (features, width),
        "input kernel",
        gates,
        f"multiplies x⟨t⟩ ({features} features) into {stacked}",
        direction,
    )
    recurrent = WeightTensor(
        "recurrent_kernel",
        (units, width),
        "recurrent kernel",
        gates,
        f"multiplies the previous hidden state a⟨t−1⟩ ({units} units) into {stacked}",
        direction,
    )
    if cell == "gru" and reset_after:
        bias = WeightTensor(
            "bias",
            (2, width),
            "bias",
            gates,
            "row 0: input bias, row 1: recurrent bias (reset_after=True keeps them apart)",
            direction,
        )
    else:
        bias = WeightTensor("bias", (width,), "bias", gates, "one constant per unit and gate", direction)
    return (kernel, recurrent, bias)


def _outputs(cell: str, batch: int | None, timesteps: int, units: int, return_sequences: bool, return_state: bool, bidirectional: bool) -> tuple[OutputTensor, ...]:
    width = 2 * units if bidirectional else units
    if return_sequences:
        main = OutputTensor("output", (batch, timesteps, width), "the hidden state at every step")
    else:
        main = OutputTensor("output", (batch, width), "the hidden state after the last step only")
    if bidirectional:
        main = OutputTensor(main.name, main.shape, main.meaning + ", forward and backward concatenated (2·units)")
    outputs = [main]
    if return_state:
        state_names = (("h", "final hidden state"), ("c", "final cell state (the LSTM's memory)")) if cell == "lstm" else (("h", "final hidden state"),)
        directions = ("forward", "backward") if bidirectional else (None,)
        for direction in directions:
            for name, meaning in state_names:
                label = f"{name} ({direction})" if direction else name
                outputs.append(OutputTensor(label, (batch, units), meaning + (f" of the {direction} pass" if direction else "")))
    return tuple(outputs)


def describe_rnn(
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
) -> RnnReport:
    """Input shape, Keras-ordered output shapes, exact parameter count and weights of one RNN layer."""
    cell = _check_cell(cell)
    _check_size("timesteps", timesteps)
    _check_size("features", features)
    _check_size("units", units)
    _check_size("batch", batch, allow_none=True)
    for name, flag in (("return_sequences", return_sequences), ("return_state", return_state), ("bidirectional", bidirectional), ("reset_after", reset_after)):
        _check_flag(name, flag)

    per_direction = cell_params(cell, features=features, units=units, reset_after=reset_after)
    directions = ("forward", "backward") if bidirectional else (None,)
    params = per_direction * len(directions)
    weights = tuple(weight for direction in directions for weight in _weights(cell, features, units, reset_after, direction))
    formula, reason = _formula(cell, reset_after)
    filled = _filled(cell, reset_after, features, units)
    if bidirectional:
        formula, filled = f"2 × {formula}", f"2 × {filled}"
        reason += " Bidirectional runs two independent copies, one reading forward and one backward: × 2."
    outputs = _outputs(cell, batch, timesteps, units, return_sequences, return_state, bidirectional)
    return RnnReport(
        cell=cell,
        layer_name=CELL_NAMES[cell],
        batch=batch,
        timesteps=timesteps,
        features=features,
        units=units,
        return_sequences=return_sequences,
        return_state=return_state,
        bidirectional=bidirectional,
        reset_after=reset_after,
        input_shape=(batch, timesteps, features),
        output_shapes=[output.shape for output in outputs],
        outputs=outputs,
        params=params,
        params_per_direction=per_direction,
        weights=weights,
        gates=CELL_GATES[cell],
        formula=formula,
        formula_filled=f"{filled} = {params:,}",
        formula_reason=reason,
        params_reset_after_false=(
            cell_params(cell, features=features, units=units, reset_after=False) * len(directions) if cell == "gru" else None
        ),
    )


def _as_spec(layer: RecurrentLayerSpec | Mapping[str, object], position: int) -> RecurrentLayerSpec:
    if isinstance(layer, RecurrentLayerSpec):
        return layer
    if not isinstance(layer, Mapping):
        raise ValueError(f"layer {position} must be a RecurrentLayerSpec or a dict, got {type(layer).__name__}")
    known = {field.name for field in fields(RecurrentLayerSpec)}
    unknown = sorted(set(layer) - known)
    if unknown:
        raise ValueError(f"layer {position} has unknown keys {unknown}; accepted keys are {sorted(known)}")
    if "cell" not in layer or "units" not in layer:
        raise ValueError(f"layer {position} needs at least 'cell' and 'units'")
    return RecurrentLayerSpec(**layer)  # type: ignore[arg-type]


def describe_stack(
    layers: Sequence[RecurrentLayerSpec | Mapping[str, object]],
    *,
    timesteps: int,
    features: int,
    batch: int | None = None,
) -> StackReport:
    """Reports for stacked recurrent layers, each fed the previous layer's main output."""
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence) or len(layers) == 0:
        raise ValueError("layers must be a non-empty list of recurrent layers")
    specs = [_as_spec(layer, position) for position, layer in enumerate(layers, start=1)]
    _check_size("timesteps", timesteps)
    _check_size("features", features)
    _check_size("batch", batch, allow_none=True)
    reports: list[RnnReport] = []
    steps, width = timesteps, features
    for position, spec in enumerate(specs, start=1):
        try:
            report = describe_rnn(
                spec.cell,
                timesteps=steps,
                features=width,
                units=spec.units,
                batch=batch,
                return_sequences=spec.return_sequences,
                return_state=spec.return_state,
                bidirectional=spec.bidirectional,
                reset_after=spec.reset_after,
            )
        except ValueError as error:
            raise (ValueError(f"layer {position}: {error}") if len(specs) > 1 else error) from None
        if position < len(specs) and not spec.return_sequences:
            following = specs[position].cell
            raise ValueError(
                f"Layer {position} ({report.layer_name}({spec.units})) must set return_sequences=True. "
                f"Without it, it returns a 2-D tensor {format_shape(report.next_input_shape)} = (batch, units) "
                f"holding only the last step, but layer {position + 1} ({CELL_NAMES.get(str(following), following)}) is recurrent "
                "and needs a 3-D (batch, timesteps, features) input: one vector per step to loop over."
            )
        reports.append(report)
        if position < len(specs):
            _, steps, width = report.next_input_shape  # type: ignore[misc]
    return StackReport(input_shape=(batch, timesteps, features), layers=tuple(reports))


def format_shape(shape: Shape) -> str:
    """A shape the way Keras prints it, ``None`` for a batch size left open."""
    inner = ", ".join("None" if size is None else str(size) for size in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


@dataclass(frozen=True)
class SequenceViews:
    """Two homework answers' views of one 3-D batch: one whole sequence, and one step across the batch."""

    tensor_shape: Shape
    one_sequence_shape: tuple[int, int]
    one_step_across_batch_shape: Shape
    one_vector_shape: tuple[int]
    state_one_sequence_shape: tuple[int]
    state_across_batch_shape: Shape


def sequence_views(*, batch: int | None, timesteps: int, features: int, units: int) -> SequenceViews:
    """Shapes of X[i] (one sequence), X[:, t, :] (step t for the mini-batch) and the states."""
    _check_size("batch", batch, allow_none=True)
    for name, value in (("timesteps", timesteps), ("features", features), ("units", units)):
        _check_size(name, value)
    return SequenceViews(
        tensor_shape=(batch, timesteps, features),
        one_sequence_shape=(timesteps, features),
        one_step_across_batch_shape=(batch, features),
        one_vector_shape=(features,),
        state_one_sequence_shape=(units,),
        state_across_batch_shape=(batch, units),
    )


def labelled_tensor(*, batch: int, timesteps: int, features: int) -> np.ndarray:
    """A small (batch, timesteps, features) tensor whose values spell their own index.

    Entry [i, t, f] is 100·(i+1) + 10·(t+1) + (f+1), so 213 means sequence 2, step 1, feature 3:
    students can read off which slice they are looking at.
    """
    for name, value in (("batch", batch), ("timesteps", timesteps), ("features", features)):
        _check_size(name, value)
    if max(batch, timesteps, features) > 9:
        raise ValueError("the labelled tensor spells indices with one digit each, so every size must be at most 9")
    i, t, f = np.indices((batch, timesteps, features))
    return 100 * (i + 1) + 10 * (t + 1) + (f + 1)


def weights_frame(report: RnnReport) -> pd.DataFrame:
    """The weight breakdown as a table: one row per tensor, with its shape, role and the gates it feeds."""
    rows = []
    for weight in report.weights:
        row = {"direction": weight.direction} if report.bidirectional else {}
        row |= {
            "weight": weight.name,
            "shape": format_shape(weight.shape),
            "parameters": weight.count,
            "role": weight.role,
            "feeds": ", ".join(weight.gates),
            "what it does": weight.meaning,
        }
        rows.append(row)
    return pd.DataFrame(rows)


def outputs_frame(report: RnnReport) -> pd.DataFrame:
    """What the layer returns, in Keras order: name, shape and meaning."""
    return pd.DataFrame(
        [{"returned": output.name, "shape": format_shape(output.shape), "meaning": output.meaning} for output in report.outputs]
    )
