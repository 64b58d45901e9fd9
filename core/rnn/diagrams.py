"""The RNN shape diagram: input tensor → each recurrent layer → every tensor it returns, axes named in words."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.rnn.shapes import AXIS_MEANINGS, Shape, StackReport, format_shape


def _axis_lines(shape: Shape, axes: Sequence[str], overrides: Mapping[str, str] | None = None) -> list[str]:
    overrides = overrides or {}
    lines = []
    for size, axis in zip(shape, axes):
        value = "any" if size is None else f"{size:,}"
        meaning = overrides.get(axis, AXIS_MEANINGS[axis])
        lines.append(f"{value} = {meaning}")
    return lines


def _dot_label(lines: Sequence[str]) -> str:
    """A left-aligned multi-line DOT label; the text is ours, but quotes are escaped all the same."""
    return "".join(line.replace("\\", "\\\\").replace('"', '\\"') + "\\l" for line in lines)


def shape_diagram_dot(stack: StackReport) -> str:
    """A Graphviz DOT diagram: input tensor → each layer → every returned tensor, axes named in words."""
    lines = [
        "digraph rnn_shapes {",
        "  rankdir=TB;",
        "  nodesep=0.25; ranksep=0.35;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=13];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    input_label = [f"input {format_shape(stack.input_shape)}"] + _axis_lines(stack.input_shape, ("batch", "timesteps", "features"))
    lines.append(f'  input [label="{_dot_label(input_label)}", fillcolor="#e3f2fd"];')
    previous = "input"
    for index, layer in enumerate(stack.layers):
        node = f"layer{index}"
        title = f"Bidirectional({layer.layer_name}({layer.units}))" if layer.bidirectional else f"{layer.layer_name}({layer.units})"
        label = [title, f"{layer.params:,} params", f"{layer.units:,} = {AXIS_MEANINGS['units']}"]
        lines.append(f'  {node} [label="{_dot_label(label)}", fillcolor="#fff3e0"];')
        lines.append(f'  {previous} -> {node} [label="{format_shape(layer.input_shape)}"];')
        is_last = index == len(stack.layers) - 1
        main = layer.outputs[0]
        axes = ("batch", "timesteps", "units") if len(main.shape) == 3 else ("batch", "units")
        width_meaning = "2·units: forward and backward side by side" if layer.bidirectional else AXIS_MEANINGS["units"]
        main_label = [f"{'[0] ' if is_last and layer.return_state else ''}{main.name} {format_shape(main.shape)}"]
        main_label += [part for part in main.meaning.split(", ")] + _axis_lines(main.shape, axes, {"units": width_meaning})
        lines.append(f'  out{index}_0 [label="{_dot_label(main_label)}", fillcolor="#e8f5e9"];')
        lines.append(f"  {node} -> out{index}_0;")
        if is_last and layer.return_state:
            # One box for all states keeps the diagram narrow and shows Keras' return order at a glance.
            state_label = ["states, returned after the output:"]
            state_label += [f"[{position}] {state.name} {format_shape(state.shape)}: {state.meaning}" for position, state in enumerate(layer.outputs[1:], start=1)]
            state_label += ["each state is (batch, units):"] + _axis_lines(layer.outputs[1].shape, ("batch", "units"))
            lines.append(f'  states{index} [label="{_dot_label(state_label)}", fillcolor="#f3e5f5"];')
            lines.append(f"  {node} -> states{index};")
        previous = f"out{index}_0"
    lines.append("}")
    return "\n".join(lines)
