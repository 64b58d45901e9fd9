"""A tiny SimpleRNN unrolled by hand in NumPy, so every number of the recurrence can be shown.

The notation is the course's: a⟨t⟩ = tanh(W_aa·a⟨t−1⟩ + W_ax·x⟨t⟩ + b_a) and
ŷ⟨t⟩ = softmax(W_ya·a⟨t⟩ + b_y). Keras stores the same weights transposed
(``kernel = W_axᵀ``, ``recurrent_kernel = W_aaᵀ``) and its ``SimpleRNN`` output at step t is
a⟨t⟩ itself; ``tests/test_rnn_keras.py`` proves the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TINY_FEATURES = 2
TINY_UNITS = 3
TINY_TIMESTEPS = 4
TINY_OUTPUTS = 2
TINY_SEED = 3


@dataclass(frozen=True, eq=False)
class TinyRnnWeights:
    """Weights of the tiny SimpleRNN and its softmax read-out, in the course's (rows = outputs) layout."""

    W_ax: np.ndarray
    W_aa: np.ndarray
    b_a: np.ndarray
    W_ya: np.ndarray
    b_y: np.ndarray

    @property
    def units(self) -> int:
        """Size of the hidden state."""
        return int(self.W_aa.shape[0])

    @property
    def features(self) -> int:
        """Numbers per input step."""
        return int(self.W_ax.shape[1])


@dataclass(frozen=True, eq=False)
class RecurrenceStep:
    """One step of the unrolled recurrence, with every intermediate product."""

    t: int
    x: np.ndarray
    a_previous: np.ndarray
    recurrent_term: np.ndarray
    input_term: np.ndarray
    bias: np.ndarray
    pre_activation: np.ndarray
    a: np.ndarray
    y_logits: np.ndarray
    y: np.ndarray


def tiny_weights(*, seed: int = TINY_SEED, features: int = TINY_FEATURES, units: int = TINY_UNITS, outputs: int = TINY_OUTPUTS) -> TinyRnnWeights:
    """Seeded small weights, rounded to two decimals so the page shows exactly the numbers it uses."""
    rng = np.random.default_rng(seed)

    def draw(*shape: int) -> np.ndarray:
        return np.round(rng.uniform(-0.9, 0.9, size=shape), 2) + 0.0  # + 0.0 turns -0.0 into 0.0 for display

    return TinyRnnWeights(W_ax=draw(units, features), W_aa=draw(units, units), b_a=draw(units), W_ya=draw(outputs, units), b_y=draw(outputs))


def tiny_inputs(*, seed: int = TINY_SEED, timesteps: int = TINY_TIMESTEPS, features: int = TINY_FEATURES) -> np.ndarray:
    """A seeded default input sequence, shape (timesteps, features), one decimal per number."""
    rng = np.random.default_rng(seed + 1000)
    return np.round(rng.uniform(-1.0, 1.0, size=(timesteps, features)), 1) + 0.0


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def check_sequence(inputs: object, *, features: int = TINY_FEATURES) -> np.ndarray:
    """The input as a float64 (timesteps, features) array, or a ``ValueError`` saying what is wrong."""
    try:
        array = np.asarray(inputs, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("the input sequence must contain only numbers") from None
    if array.ndim != 2 or array.shape[1] != features:
        raise ValueError(f"the input sequence must be a table of shape (timesteps, {features}), got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError("the input sequence needs at least one timestep")
    if not np.all(np.isfinite(array)):
        raise ValueError("every input value must be a finite number (an empty cell counts as missing)")
    if np.max(np.abs(array)) > 1e6:
        raise ValueError("input values must lie between -1,000,000 and 1,000,000")
    return array


def unroll_simple_rnn(inputs: object, weights: TinyRnnWeights, initial_state: np.ndarray | None = None) -> list[RecurrenceStep]:
    """Run the recurrence one step at a time, keeping each product for display."""
    sequence = check_sequence(inputs, features=weights.features)
    a_previous = np.zeros(weights.units) if initial_state is None else np.asarray(initial_state, dtype=np.float64)
    steps = []
    for t, x in enumerate(sequence, start=1):
        recurrent_term = weights.W_aa @ a_previous
        input_term = weights.W_ax @ x
        pre_activation = recurrent_term + input_term + weights.b_a
        a = np.tanh(pre_activation)
        y_logits = weights.W_ya @ a + weights.b_y
        steps.append(RecurrenceStep(t, x, a_previous, recurrent_term, input_term, weights.b_a, pre_activation, a, y_logits, _softmax(y_logits)))
        a_previous = a
    return steps


def keras_weight_arrays(weights: TinyRnnWeights) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The same weights in Keras' layout: SimpleRNN [kernel, recurrent_kernel, bias], Dense [kernel, bias]."""
    return [weights.W_ax.T, weights.W_aa.T, weights.b_a], [weights.W_ya.T, weights.b_y]


def step_frame(step: RecurrenceStep) -> pd.DataFrame:
    """One step's arithmetic, one row per hidden unit: the two products, the bias, their sum and tanh."""
    return pd.DataFrame(
        {
            "W_aa·a⟨t−1⟩": step.recurrent_term,
            "W_ax·x⟨t⟩": step.input_term,
            "b_a": step.bias,
            "sum": step.pre_activation,
            "a⟨t⟩ = tanh(sum)": step.a,
        },
        index=[f"unit {unit}" for unit in range(1, len(step.a) + 1)],
    )


def summary_frame(steps: list[RecurrenceStep]) -> pd.DataFrame:
    """Every step's hidden state and prediction in one table, one row per timestep."""
    rows = []
    for step in steps:
        row = {"t": step.t}
        row |= {f"x{index}": value for index, value in enumerate(step.x, start=1)}
        row |= {f"a{index}": value for index, value in enumerate(step.a, start=1)}
        row |= {f"ŷ{index}": value for index, value in enumerate(step.y, start=1)}
        rows.append(row)
    return pd.DataFrame(rows).set_index("t")


def matrix_frame(matrix: np.ndarray, *, row_name: str, column_name: str) -> pd.DataFrame:
    """A weight matrix or vector as a labelled table for display."""
    table = np.atleast_2d(matrix) if matrix.ndim == 2 else matrix[:, np.newaxis]
    return pd.DataFrame(
        table,
        index=[f"{row_name} {row}" for row in range(1, table.shape[0] + 1)],
        columns=[f"{column_name} {column}" for column in range(1, table.shape[1] + 1)] if matrix.ndim == 2 else [column_name],
    )


def latex_matrix(values: np.ndarray, *, decimals: int | None = 2) -> str:
    """A vector (shown as a column) or matrix as a LaTeX bmatrix; ``decimals=None`` prints numbers as typed."""
    table = values[:, np.newaxis] if values.ndim == 1 else values
    rows = [" & ".join(f"{value:.6g}" if decimals is None else f"{value:.{decimals}f}" for value in row) for row in table]
    return r"\begin{bmatrix}" + r" \\ ".join(rows) + r"\end{bmatrix}"


def step_latex(step: RecurrenceStep, weights: TinyRnnWeights) -> str:
    """The step's equation with every number filled in: the weights, a⟨t−1⟩, x⟨t⟩, the sum and a⟨t⟩."""
    t = step.t
    return (
        rf"\begin{{aligned}} a^{{\langle {t} \rangle}} &= \tanh\left({latex_matrix(weights.W_aa)}{latex_matrix(step.a_previous, decimals=4)}\right."
        rf" \\ &\qquad \left. + {latex_matrix(weights.W_ax)}{latex_matrix(step.x, decimals=None)} + {latex_matrix(weights.b_a)}\right) \\"
        rf" &= \tanh {latex_matrix(step.pre_activation, decimals=4)} = {latex_matrix(step.a, decimals=4)} \end{{aligned}}"
    )
