"""How fast the RNN-shapes page answers: hand-worked figures, page render, and the Keras check on click."""

from __future__ import annotations

import sys
import time

from benchmarks.common import best_time, print_table


def run() -> list[dict]:
    """Time the pure-Python reports, a TensorFlow-free page render, then the first and a warm Keras check."""
    from core.rnn import describe_rnn, describe_stack, shape_diagram_dot
    from core.rnn.unrolled import tiny_inputs, tiny_weights, unroll_simple_rnn

    stack_layers = [{"cell": "lstm", "units": 128, "return_sequences": True}] * 3 + [{"cell": "gru", "units": 64, "return_state": True, "bidirectional": True}]
    rows = [
        {"step": "describe_rnn (LSTM 128)", "seconds": best_time(lambda: describe_rnn("lstm", timesteps=28, features=28, units=128, return_state=True))},
        {"step": "describe_stack (4 layers) + DOT", "seconds": best_time(lambda: shape_diagram_dot(describe_stack(stack_layers, timesteps=28, features=28)))},
        {"step": "unrolled SimpleRNN, 4 steps", "seconds": best_time(lambda: unroll_simple_rnn(tiny_inputs(), tiny_weights()))},
    ]

    from benchmarks.common import app_test

    started = time.perf_counter()
    at = app_test("app_pages/rnn_dimensions.py")
    rows.append({"step": "page render via AppTest (router + page, first run)", "seconds": time.perf_counter() - started})
    rows.append({"step": "TensorFlow imported by the render?", "seconds": "tensorflow" in sys.modules})
    started = time.perf_counter()
    at.number_input(key="units").set_value(64).run()
    rows.append({"step": "page rerun after a control change", "seconds": time.perf_counter() - started})
    for label in ("'Verify with Keras', first click (imports TensorFlow)", "'Verify with Keras', again (TensorFlow warm)"):
        started = time.perf_counter()
        at.button(key="verify_keras").click().run()
        rows.append({"step": label, "seconds": time.perf_counter() - started})
    return rows


if __name__ == "__main__":
    print_table(run(), title="rnn_shapes")
