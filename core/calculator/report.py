"""What the calculator reports: one record per layer and one for the network (memory in bytes)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.calculator.validation import Shape


@dataclass(frozen=True)
class LayerReport:
    """What one layer does to its input, and what it costs."""

    name: str
    type: str
    input_shape: Shape
    output_shape: Shape
    params: int
    trainable_params: int
    macs: int
    activation_values: int
    params_formula: str
    shape_formula: str
    bias_params: int = 0
    # The settings as the kind read them (pairs spelled out, defaults filled in), for the
    # answer checker's kind-specific slips.
    settings: tuple[tuple[str, Any], ...] = ()

    @property
    def non_trainable_params(self) -> int:
        """Parameters the optimiser never updates (BatchNorm's moving mean and variance)."""
        return self.params - self.trainable_params

    @property
    def input_values(self) -> int:
        """Number of values this layer reads per instance."""
        return math.prod(self.input_shape)

    def setting(self, key: str) -> Any:
        """One setting as the kind read it (``None`` when the kind has no such setting)."""
        return dict(self.settings).get(key)


@dataclass(frozen=True)
class NetworkReport:
    """Per-layer reports and network totals; memory figures are in bytes."""

    input_shape: Shape
    layers: tuple[LayerReport, ...]
    batch_size: int
    dtype_bytes: int
    optimizer: str
    total_params: int
    trainable_params: int
    non_trainable_params: int
    total_macs: int
    input_values: int
    activation_values: int
    weight_bytes: int
    inference_peak_bytes: int
    inference_keep_all_bytes: int
    training_bytes: int
    training_breakdown: dict[str, int] = field(default_factory=dict)

    @property
    def output_shape(self) -> Shape:
        """Shape of the network's output per instance (the input shape for an empty network)."""
        return self.layers[-1].output_shape if self.layers else self.input_shape
