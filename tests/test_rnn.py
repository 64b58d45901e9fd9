"""Hand-worked RNN shapes and parameter counts: the homework's exact figures, formulas and errors."""

from __future__ import annotations

import numpy as np
import pytest

from core.rnn.diagrams import shape_diagram_dot
from core.rnn.patterns import sequence_patterns
from core.rnn.shapes import (
    AXIS_MEANINGS,
    RecurrentLayerSpec,
    cell_params,
    describe_rnn,
    describe_stack,
    format_shape,
    sequence_views,
)
from core.rnn.unrolled import (
    check_sequence,
    tiny_inputs,
    tiny_weights,
    unroll_simple_rnn,
)


@pytest.mark.parametrize(
    ("cell", "features", "units", "expected"),
    [
        ("simple_rnn", 28, 128, 20_096),
        ("lstm", 28, 128, 80_384),
        ("gru", 28, 128, 60_672),
        ("lstm", 40, 32, 9_344),
    ],
)
def test_homework_parameter_counts(cell: str, features: int, units: int, expected: int) -> None:
    report = describe_rnn(cell, timesteps=28, features=features, units=units)
    assert report.params == expected
    assert sum(weight.count for weight in report.weights) == expected


def test_gru_reset_after_false_count_is_exposed_for_teaching() -> None:
    report = describe_rnn("gru", timesteps=28, features=28, units=128)
    assert report.reset_after is True
    assert report.params_reset_after_false == 60_288  # 3·128·(128 + 28 + 1)
    classic = describe_rnn("gru", timesteps=28, features=28, units=128, reset_after=False)
    assert classic.params == 60_288
    assert [weight.shape for weight in classic.weights] == [(28, 384), (128, 384), (384,)]
    assert describe_rnn("lstm", timesteps=28, features=28, units=128).params_reset_after_false is None


def test_formulas_filled_with_numbers() -> None:
    assert describe_rnn("simple_rnn", timesteps=28, features=28, units=128).formula_filled == "128·(128 + 28 + 1) = 20,096"
    lstm = describe_rnn("lstm", timesteps=10, features=40, units=32)
    assert lstm.formula == "4·units·(units + features + 1)"
    assert lstm.formula_filled == "4·32·(32 + 40 + 1) = 9,344"
    gru = describe_rnn("gru", timesteps=28, features=28, units=128)
    assert gru.formula == "3·units·(units + features + 2)"
    assert gru.formula_filled == "3·128·(128 + 28 + 2) = 60,672"
    both_ways = describe_rnn("lstm", timesteps=28, features=28, units=128, bidirectional=True)
    assert both_ways.formula_filled == "2 × 4·128·(128 + 28 + 1) = 160,768"
    assert both_ways.params == 2 * both_ways.params_per_direction


def test_lstm_weight_breakdown_names_roles_and_gates() -> None:
    report = describe_rnn("lstm", timesteps=28, features=28, units=128)
    assert [(w.name, w.shape, w.role) for w in report.weights] == [
        ("kernel", (28, 512), "input kernel"),
        ("recurrent_kernel", (128, 512), "recurrent kernel"),
        ("bias", (512,), "bias"),
    ]
    assert report.weights[0].gates == ("input gate i", "forget gate f", "cell candidate c̃", "output gate o")
    gru = describe_rnn("gru", timesteps=5, features=3, units=4, bidirectional=True)
    assert [(w.direction, w.shape) for w in gru.weights] == [
        ("forward", (3, 12)), ("forward", (4, 12)), ("forward", (2, 12)),
        ("backward", (3, 12)), ("backward", (4, 12)), ("backward", (2, 12)),
    ]


def test_output_shapes_follow_keras_order_and_form() -> None:
    last_only = describe_rnn("simple_rnn", batch=16, timesteps=28, features=28, units=128)
    assert last_only.input_shape == (16, 28, 28)
    assert last_only.output_shapes == [(16, 128)]
    lstm = describe_rnn("lstm", timesteps=28, features=28, units=64, return_sequences=True, return_state=True)
    assert lstm.output_shapes == [(None, 28, 64), (None, 64), (None, 64)]
    assert [output.name for output in lstm.outputs] == ["output", "h", "c"]
    both = describe_rnn("lstm", timesteps=7, features=3, units=5, return_state=True, bidirectional=True)
    assert both.output_shapes == [(None, 10), (None, 5), (None, 5), (None, 5), (None, 5)]
    assert [output.name for output in both.outputs] == ["output", "h (forward)", "c (forward)", "h (backward)", "c (backward)"]
    gru = describe_rnn("gru", timesteps=7, features=3, units=5, return_sequences=True, return_state=True, bidirectional=True)
    assert gru.output_shapes == [(None, 7, 10), (None, 5), (None, 5)]
    assert lstm.keras_code == "layers.LSTM(64, return_sequences=True, return_state=True)"
    assert both.keras_code == "layers.Bidirectional(layers.LSTM(5, return_state=True))"


def test_stack_shapes_flow_through_layers() -> None:
    stack = describe_stack(
        [
            {"cell": "lstm", "units": 64, "return_sequences": True},
            RecurrentLayerSpec("gru", 32, return_sequences=True, bidirectional=True),
            {"cell": "simple_rnn", "units": 16, "return_state": True},
        ],
        batch=8,
        timesteps=28,
        features=28,
    )
    assert [layer.input_shape for layer in stack.layers] == [(8, 28, 28), (8, 28, 64), (8, 28, 64)]
    assert stack.output_shapes == [(8, 16), (8, 16)]
    assert stack.layers[1].params == 2 * 3 * 32 * (32 + 64 + 2)
    assert stack.params == 4 * 64 * (64 + 28 + 1) + 2 * 3 * 32 * (32 + 64 + 2) + 16 * (16 + 64 + 1)


def test_stack_without_return_sequences_explains_the_2d_tensor() -> None:
    with pytest.raises(ValueError, match=r"Layer 1 \(LSTM\(64\)\) must set return_sequences=True.*2-D tensor \(None, 64\).*3-D"):
        describe_stack([{"cell": "lstm", "units": 64}, {"cell": "gru", "units": 32}], timesteps=28, features=28)
    with pytest.raises(ValueError, match="Layer 2"):
        describe_stack(
            [{"cell": "lstm", "units": 4, "return_sequences": True}, {"cell": "lstm", "units": 4}, {"cell": "lstm", "units": 4}],
            timesteps=3,
            features=2,
        )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (dict(cell="transformer"), "cell must be one of"),
        (dict(units=0), "units must be at least 1"),
        (dict(timesteps=-3), "timesteps must be at least 1"),
        (dict(features=0), "features must be at least 1"),
        (dict(batch=0), "batch must be at least 1"),
        (dict(units=2.5), "units must be a positive whole number"),
        (dict(units=True), "units must be a positive whole number"),
        (dict(return_sequences="yes"), "return_sequences must be True or False"),
    ],
)
def test_bad_sizes_and_cells_are_rejected(arguments: dict, message: str) -> None:
    base = dict(cell="lstm", timesteps=28, features=28, units=128)
    base.update(arguments)
    cell = base.pop("cell")
    with pytest.raises(ValueError, match=message):
        describe_rnn(cell, **base)


def test_bad_stacks_are_rejected() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        describe_stack([], timesteps=3, features=2)
    with pytest.raises(ValueError, match="unknown keys"):
        describe_stack([{"cell": "lstm", "units": 3, "dropout": 0.5}], timesteps=3, features=2)
    with pytest.raises(ValueError, match="layer 2: units must be at least 1"):
        describe_stack([{"cell": "lstm", "units": 3, "return_sequences": True}, {"cell": "lstm", "units": 0}], timesteps=3, features=2)
    with pytest.raises(ValueError, match="cell must be one of"):
        cell_params("rnn", features=3, units=2)


def test_shape_diagram_names_every_axis_in_words() -> None:
    stack = describe_stack([{"cell": "lstm", "units": 64, "return_sequences": True, "return_state": True}], timesteps=28, features=28)
    dot = shape_diagram_dot(stack)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    for meaning in AXIS_MEANINGS.values():
        assert meaning in dot
    for shape in stack.output_shapes:
        assert format_shape(shape) in dot
    assert format_shape((None, 128)) == "(None, 128)" and format_shape((5,)) == "(5,)"


def test_sequence_views_reconcile_the_two_seed_answers() -> None:
    views = sequence_views(batch=32, timesteps=28, features=28, units=128)
    tensor = np.zeros(views.tensor_shape)
    assert tensor[0].shape == views.one_sequence_shape == (28, 28)
    assert tensor[:, 0, :].shape == views.one_step_across_batch_shape == (32, 28)
    assert tensor[0, 0].shape == views.one_vector_shape
    assert views.state_across_batch_shape == (32, 128)
    with pytest.raises(ValueError, match="batch"):
        sequence_views(batch=0, timesteps=2, features=2, units=2)


def test_unrolled_recurrence_follows_the_formula_by_hand() -> None:
    weights = tiny_weights()
    inputs = tiny_inputs()
    assert inputs.shape == (4, 2) and weights.W_ax.shape == (3, 2) and weights.W_aa.shape == (3, 3)
    steps = unroll_simple_rnn(inputs, weights)
    assert len(steps) == 4
    a = np.zeros(3)
    for step, x in zip(steps, inputs):
        np.testing.assert_allclose(step.a_previous, a)
        a = np.tanh(weights.W_aa @ a + weights.W_ax @ x + weights.b_a)
        np.testing.assert_allclose(step.a, a)
        np.testing.assert_allclose(step.pre_activation, step.recurrent_term + step.input_term + weights.b_a)
        assert step.y.sum() == pytest.approx(1.0)
    assert np.array_equal(tiny_weights().W_aa, weights.W_aa), "the seed must fix the weights"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([[1.0, 2.0, 3.0]], r"shape \(timesteps, 2\)"),
        (np.zeros((0, 2)), "at least one timestep"),
        ([[1.0, float("nan")]], "finite"),
        ([["a", "b"]], "only numbers"),
        ([[1e9, 0.0]], "between"),
    ],
)
def test_unrolled_input_is_validated(table: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_sequence(table)


def test_patterns_cover_all_cases_with_diagrams_and_shapes() -> None:
    patterns = sequence_patterns()
    assert [pattern.key for pattern in patterns] == ["one_to_one", "one_to_many", "many_to_one", "many_to_many_same", "encoder_decoder"]
    for pattern in patterns:
        assert pattern.diagram_dot.startswith("digraph")
        assert pattern.example_task and pattern.keras_flags and pattern.stages
    many_to_one = patterns[2]
    assert many_to_one.stages[1].output_shapes == ((32, 64),)
    encoder_decoder = patterns[4]
    assert encoder_decoder.stages[1].output_shapes == ((32, 64), (32, 64), (32, 64))


def test_display_tables_and_latex_carry_the_same_numbers() -> None:
    from core.rnn.shapes import outputs_frame, weights_frame
    from core.rnn.unrolled import latex_matrix, step_frame, step_latex, summary_frame

    report = describe_rnn("gru", timesteps=5, features=3, units=4, return_state=True, bidirectional=True)
    weights = weights_frame(report)
    assert weights["parameters"].sum() == report.params == 2 * 3 * 4 * (4 + 3 + 2)
    assert list(weights["direction"]) == ["forward"] * 3 + ["backward"] * 3
    assert list(outputs_frame(report)["returned"]) == ["output", "h (forward)", "h (backward)"]

    tiny = tiny_weights()
    steps = unroll_simple_rnn(tiny_inputs(), tiny)
    frame = step_frame(steps[1])
    np.testing.assert_allclose(frame["sum"], frame["W_aa·a⟨t−1⟩"] + frame["W_ax·x⟨t⟩"] + frame["b_a"])
    np.testing.assert_allclose(frame["a⟨t⟩ = tanh(sum)"], np.tanh(frame["sum"]))
    assert summary_frame(steps).shape == (4, 2 + 3 + 2)
    assert latex_matrix(np.array([[1.0, -0.5]])) == r"\begin{bmatrix}1.00 & -0.50\end{bmatrix}"
    assert latex_matrix(np.array([0.25, 2.0]), decimals=None) == r"\begin{bmatrix}0.25 \\ 2\end{bmatrix}"
    equation = step_latex(steps[0], tiny)
    assert equation.count(r"\begin{bmatrix}") == 7  # W_aa, a⟨0⟩, W_ax, x⟨1⟩, b_a, the sum, a⟨1⟩
    assert f"{steps[0].a[0]:.4f}" in equation
