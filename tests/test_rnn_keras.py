"""Keras is the oracle: our hand-worked RNN figures against real built layers."""

from __future__ import annotations

import random

import numpy as np
import pytest

from core.rnn.keras_check import (
    keras_pattern_shapes,
    keras_rnn_facts,
    keras_simple_rnn_outputs,
    keras_stack_facts,
)
from core.rnn.patterns import sequence_patterns
from core.rnn.shapes import CELLS, RecurrentLayerSpec, describe_rnn, describe_stack
from core.rnn.unrolled import tiny_inputs, tiny_weights, unroll_simple_rnn


def _random_configurations(count: int, seed: int = 2024) -> list[dict]:
    """Seeded configurations; the first 24 walk every cell × flag combination, the rest are random."""
    rng = random.Random(seed)
    configurations = []
    flags = [(s, r, b) for s in (False, True) for r in (False, True) for b in (False, True)]
    for index in range(count):
        cell = CELLS[index % 3] if index < 24 else rng.choice(CELLS)
        return_sequences, return_state, bidirectional = flags[(index // 3) % 8] if index < 24 else (rng.random() < 0.5, rng.random() < 0.5, rng.random() < 0.5)
        configurations.append(
            dict(
                cell=cell,
                timesteps=rng.randint(1, 12),
                features=rng.randint(1, 40),
                units=rng.randint(1, 48),
                batch=rng.choice([None, 1, 3]),
                return_sequences=return_sequences,
                return_state=return_state,
                bidirectional=bidirectional,
                reset_after=rng.random() < 0.7,
            )
        )
    return configurations


CONFIGURATIONS = _random_configurations(44)


def test_configurations_cover_every_flag() -> None:
    seen = {(c["cell"], c["return_sequences"], c["return_state"], c["bidirectional"]) for c in CONFIGURATIONS}
    assert len(seen) == 24
    assert {c["reset_after"] for c in CONFIGURATIONS if c["cell"] == "gru"} == {True, False}
    assert {c["batch"] for c in CONFIGURATIONS} == {None, 1, 3}


@pytest.mark.parametrize("configuration", CONFIGURATIONS, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_random_configuration_matches_keras(configuration: dict) -> None:
    arguments = dict(configuration)
    ours = describe_rnn(arguments.pop("cell"), **arguments)
    keras_facts = keras_rnn_facts(configuration["cell"], **arguments)
    assert keras_facts.output_shapes == ours.output_shapes
    assert keras_facts.params == ours.params
    assert [shape for _, shape in keras_facts.weight_shapes] == [weight.shape for weight in ours.weights]
    assert [path.rsplit("/", 1)[-1] for path, _ in keras_facts.weight_shapes] == [weight.name for weight in ours.weights]


@pytest.mark.parametrize("cell", CELLS)
def test_real_arrays_have_the_predicted_shapes(cell: str) -> None:
    """Run on an actual (batch, timesteps, features) array, not only a symbolic input."""
    arguments = dict(timesteps=6, features=5, units=7, batch=2, return_sequences=True, return_state=True, bidirectional=True)
    facts = keras_rnn_facts(cell, concrete_input=True, **arguments)
    assert facts.output_shapes == describe_rnn(cell, **arguments).output_shapes


def test_homework_counts_match_keras() -> None:
    for cell, features, units, expected in (("simple_rnn", 28, 128, 20_096), ("lstm", 28, 128, 80_384), ("gru", 28, 128, 60_672), ("lstm", 40, 32, 9_344)):
        assert keras_rnn_facts(cell, timesteps=28, features=features, units=units).params == expected
    assert keras_rnn_facts("gru", timesteps=28, features=28, units=128, reset_after=False).params == 60_288


def test_stack_matches_keras_layer_by_layer() -> None:
    layers = [
        RecurrentLayerSpec("lstm", 12, return_sequences=True, return_state=True),
        RecurrentLayerSpec("gru", 6, return_sequences=True, bidirectional=True),
        RecurrentLayerSpec("simple_rnn", 4, return_state=True),
    ]
    ours = describe_stack(layers, timesteps=9, features=3, batch=5)
    theirs = keras_stack_facts(layers, timesteps=9, features=3, batch=5)
    assert [facts.output_shapes for facts in theirs] == [layer.output_shapes for layer in ours.layers]
    assert sum(facts.params for facts in theirs) == ours.params


def test_numpy_unrolled_recurrence_equals_keras_simple_rnn() -> None:
    weights = tiny_weights()
    for inputs in (tiny_inputs(), np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0], [-1.0, -1.0]])):
        steps = unroll_simple_rnn(inputs, weights)
        hidden, probabilities = keras_simple_rnn_outputs(inputs, weights)
        np.testing.assert_allclose(np.stack([step.a for step in steps]), hidden, atol=1e-6)
        np.testing.assert_allclose(np.stack([step.y for step in steps]), probabilities, atol=1e-6)


@pytest.mark.parametrize("pattern", sequence_patterns(), ids=lambda p: p.key)
def test_pattern_recipes_give_the_shapes_we_show(pattern) -> None:
    assert keras_pattern_shapes(pattern.key) == [list(stage.output_shapes) for stage in pattern.stages]


def test_keras_check_refuses_layers_too_big_to_build() -> None:
    with pytest.raises(ValueError, match="limited to 50,000,000 parameters"):
        keras_rnn_facts("lstm", timesteps=2, features=5000, units=5000)
