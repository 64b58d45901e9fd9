"""The RNN shapes page's library: shapes and parameters of Keras recurrent layers, worked out by hand.

- :mod:`core.rnn.shapes`: :func:`describe_rnn` and :func:`describe_stack` (what a layer returns, its
  weights and which gate each feeds), the two views of one 3-D batch, tables;
- :mod:`core.rnn.diagrams`: the shape diagram;
- :mod:`core.rnn.unrolled`: a tiny SimpleRNN unrolled step by step with real numbers;
- :mod:`core.rnn.patterns`: one-to-many, many-to-one, many-to-many and encoder–decoder;
- :mod:`core.rnn.keras_check`: the same figures read off real Keras layers (imports Keras when called).
"""

from core.rnn.diagrams import shape_diagram_dot
from core.rnn.shapes import (
    CELL_NAMES,
    CELLS,
    RecurrentLayerSpec,
    RnnReport,
    StackReport,
    cell_params,
    describe_rnn,
    describe_stack,
    format_shape,
)

__all__ = [
    "CELLS",
    "CELL_NAMES",
    "RecurrentLayerSpec",
    "RnnReport",
    "StackReport",
    "cell_params",
    "describe_rnn",
    "describe_stack",
    "format_shape",
    "shape_diagram_dot",
]
