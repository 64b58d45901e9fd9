"""The CNN calculator: output shapes, parameters, multiply-adds and memory of a layer stack, as Keras counts them.

The public names are here; the work is in the submodules, which import one another downwards and
never this package:

- :mod:`~core.calculator.kinds`: one record per layer kind (adding a kind is one record there);
- :mod:`~core.calculator.network`: :func:`analyze`, a network's totals and memory;
- :mod:`~core.calculator.table`: the page's editable layer table to layer dicts and back;
- :mod:`~core.calculator.check`: "check your answer" and the classic slips;
- :mod:`~core.calculator.presets`: the course's homework networks as ready-made networks;
- :mod:`~core.calculator.keras_check`: the same network in Keras, to compare (Keras imported lazily).
"""

from core.calculator.keras_check import keras_layers_for
from core.calculator.kinds import KINDS, LAYER_TYPES, describe_layers
from core.calculator.layer_kind import LayerKind
from core.calculator.network import (
    DTYPE_BYTES,
    MEBIBYTE,
    MEGABYTE,
    OPTIMIZER_SLOTS,
    analyze,
)
from core.calculator.report import LayerReport, NetworkReport
from core.calculator.validation import MAX_COUNT, MAX_SIZE, shown_number

__all__ = [
    "DTYPE_BYTES",
    "KINDS",
    "LAYER_TYPES",
    "MAX_COUNT",
    "MAX_SIZE",
    "MEBIBYTE",
    "MEGABYTE",
    "OPTIMIZER_SLOTS",
    "LayerKind",
    "LayerReport",
    "NetworkReport",
    "analyze",
    "describe_layers",
    "keras_layers_for",
    "shown_number",
]
