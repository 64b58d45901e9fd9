"""Altair chart builders shared by the pages: a DataFrame (or plain arrays) in, a chart out.

The frame builders are separate from the chart builders so tests can check the numbers a chart
is drawn from; AppTest cannot look inside a rendered chart.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd


def history_frame(histories: Mapping[str, Mapping[str, Sequence[float]]], *, held_out: str = "test") -> pd.DataFrame:
    """Keras histories keyed by run label, as long rows: run, epoch, split, metric, value.

    Keras calls every per-epoch held-out curve ``val_``; ``held_out`` names the split it really
    was (``RunResult.curves_on``: the test set, or a separate validation split).
    """
    rows = []
    for label, history in histories.items():
        for name, values in history.items():
            if name.startswith("val_"):
                split, metric = held_out, name[4:]
            elif name in ("loss", "accuracy"):
                split, metric = "train", name
            else:
                continue
            rows += [
                {"run": label, "epoch": epoch, "split": split, "metric": metric, "value": float(value)}
                for epoch, value in enumerate(values, start=1)
            ]
    return pd.DataFrame(rows, columns=["run", "epoch", "split", "metric", "value"])


def learning_curves(
    frame: pd.DataFrame, *, metric: str = "accuracy", height: int = 260, legend_below: bool = False
) -> alt.Chart:
    """Train (dashed) and test (solid) curves of one metric against epoch, one colour per run.

    ``legend_below`` lists the runs under the plot, for long run labels that would squeeze it.
    """
    data = frame[frame["metric"] == metric].dropna(subset=["value"])
    title = "Accuracy" if metric == "accuracy" else "Loss"
    chart = (
        alt.Chart(data, title=f"{title} per epoch")
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run"),
            strokeDash=alt.StrokeDash("split:N", title="split", sort=["test", "validation", "train"]),
            tooltip=["run", "split", "epoch", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(height=height)
        .interactive()
    )
    return chart.configure_legend(orient="bottom", direction="vertical", labelLimit=0) if legend_below else chart


# Past this a confusion matrix is a wall of cells nobody can read (and K² marks to send).
MAX_CONFUSION_CLASSES = 40


def confusion_frame(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Every (true, predicted) class pair with its count and the fraction of that true class."""
    classes = len(class_names)
    counts = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros(counts.shape, dtype=float), where=totals > 0)
    rows = [
        {"true": class_names[t], "predicted": class_names[p], "count": int(counts[t, p]), "fraction": float(fractions[t, p])}
        for t in range(classes)
        for p in range(classes)
    ]
    return pd.DataFrame(rows)


def confusion_chart(
    frame: pd.DataFrame,
    class_names: Sequence[str],
    *,
    title: str = "Confusion matrix",
    size: int = 300,
    selection: alt.Parameter | None = None,
    chosen: tuple[str, str] | None = None,
) -> alt.Chart:
    """A heatmap of row-normalised counts on a fixed 0–1 colour scale, so several models compare fairly.

    With ``selection`` (a point selection on the cell's fields) a click on a cell selects it; the
    ``chosen`` (true, predicted) cell is outlined, drawn from the data so the outline follows the
    page's own choice rather than the chart's last click.
    """
    order = list(class_names)
    if chosen is not None:
        # Marked in the data, not in a Vega expression: class names come from folder names and may hold quotes.
        frame = frame.assign(chosen=(frame["true"] == chosen[0]) & (frame["predicted"] == chosen[1]))
    base = alt.Chart(frame, title=title).encode(
        x=alt.X("predicted:N", sort=order, title="predicted"),
        y=alt.Y("true:N", sort=order, title="true"),
    )
    cells = base.mark_rect(cursor="pointer" if selection is not None else "default").encode(
        color=alt.Color("fraction:Q", scale=alt.Scale(domain=[0, 1], scheme="blues"), title="share of row"),
        tooltip=["true", "predicted", "count", alt.Tooltip("fraction:Q", format=".1%")],
    )
    if chosen is not None:
        cells = cells.encode(
            stroke=alt.condition(alt.datum.chosen, alt.value("#ff4b4b"), alt.value(None)),
            strokeWidth=alt.condition(alt.datum.chosen, alt.value(3), alt.value(0)),
        )
    if selection is not None:
        # In a layer a click on the count above a cell reaches this selection too: it reads the clicked
        # mark's own true/predicted/model values, which the count shares with its cell.
        cells = cells.add_params(selection)
    labels = base.mark_text(fontSize=10).encode(
        text=alt.Text("count:Q"),
        color=alt.condition(alt.datum.fraction > 0.5, alt.value("white"), alt.value("black")),
    )
    return (cells + labels).properties(width=size, height=size)


def confusion_grid(
    frames: Mapping[str, pd.DataFrame],
    class_names: Sequence[str],
    *,
    size: int = 300,
    columns: int = 2,
    selection_name: str | None = None,
    chosen: tuple[str, str, str] | None = None,
) -> alt.Chart:
    """One confusion matrix per model (titled by its label), side by side on one shared colour scale.

    With ``selection_name`` a click on any cell selects its ``model``, ``true`` and ``predicted``
    values under that name; ``chosen`` is the ``(model, true, predicted)`` cell to outline.
    """
    selection = (
        alt.selection_point(name=selection_name, fields=["model", "true", "predicted"], on="click", clear=False)
        if selection_name else None
    )
    matrices = [
        confusion_chart(
            frame.assign(model=label), class_names, title=label, size=size, selection=selection,
            chosen=chosen[1:] if chosen is not None and chosen[0] == label else None,
        )
        for label, frame in frames.items()
    ]
    if len(matrices) == 1:
        return matrices[0]
    with warnings.catch_warnings():
        # One selection shared by every matrix is the point: a click in any of them names its model.
        warnings.filterwarnings("ignore", message="Automatically deduplicated selection parameter")
        return alt.concat(*matrices, columns=columns).resolve_scale(color="shared")


def per_class_accuracy_frame(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """Recall of each class: the share of its test examples predicted correctly."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    rows = []
    for index, name in enumerate(class_names):
        mask = y_true == index
        rows.append({"class": name, "examples": int(mask.sum()), "accuracy": float((y_pred[mask] == index).mean()) if mask.any() else float("nan")})
    return pd.DataFrame(rows)


def probability_frame(class_names: Sequence[str], probabilities: np.ndarray) -> pd.DataFrame:
    """Class probabilities for one prediction, most likely first."""
    frame = pd.DataFrame({"class": list(class_names), "probability": np.asarray(probabilities, dtype=float).reshape(-1)})
    return frame.sort_values("probability", ascending=False, ignore_index=True)


def probability_bars(frame: pd.DataFrame, *, title: str = "Class probabilities", top: int = 10) -> alt.Chart:
    """Horizontal bars of the ``top`` most likely classes."""
    data = frame.head(top)
    return (
        alt.Chart(data, title=title)
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("class:N", sort="-x", title=None),
            tooltip=["class", alt.Tooltip("probability:Q", format=".2%")],
        )
        .properties(height=max(80, 24 * len(data)))
    )


# --- CNN calculator --------------------------------------------------------------------------

from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from core.calculator import NetworkReport

MEMORY_PARTS = ("weights", "gradients", "optimizer", "activations", "input")


def calculator_layer_frame(report: NetworkReport) -> pd.DataFrame:
    """One row per layer: shapes, parameters, multiply-adds, activation memory for one instance, formulas."""
    rows = [
        {
            "#": position,
            "layer": layer.name,
            "type": layer.type,
            "input shape": str(layer.input_shape),
            "output shape": str(layer.output_shape),
            "params": layer.params,
            "non-trainable": layer.non_trainable_params,
            "MACs": layer.macs,
            "activation values": layer.activation_values,
            "activation MB": layer.activation_values * report.dtype_bytes / 1e6,
            "params formula": layer.params_formula,
            "shape formula": layer.shape_formula,
        }
        for position, layer in enumerate(report.layers, start=1)
    ]
    columns = ["#", "layer", "type", "input shape", "output shape", "params", "non-trainable", "MACs", "activation values", "activation MB", "params formula", "shape formula"]
    return pd.DataFrame(rows, columns=columns)


def layer_bar_chart(frame: pd.DataFrame, value: str, *, title: str, axis_title: str, height_per_layer: int = 22) -> alt.Chart:
    """Horizontal bars of one per-layer column, layers top to bottom in network order."""
    order = list(frame["layer"])
    value_format = ",.3f" if frame[value].dtype.kind == "f" else ","
    return (
        alt.Chart(frame, title=title)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=axis_title),
            y=alt.Y("layer:N", sort=order, title=None, axis=alt.Axis(labelLimit=200)),
            color=alt.Color("type:N", title="type", legend=alt.Legend(orient="bottom")),
            tooltip=["layer", "type", "output shape", alt.Tooltip(f"{value}:Q", format=value_format)],
        )
        # A fixed step per layer: Streamlit squeezes a fixed total height, titles and axes included.
        .properties(height=alt.Step(height_per_layer))
    )


def memory_breakdown_frame(report: NetworkReport) -> pd.DataFrame:
    """Memory by part for inference (peak and keep-all, one instance) and for training one batch."""
    activation_bytes = report.activation_values * report.dtype_bytes
    input_bytes = report.input_values * report.dtype_bytes
    scenarios = {
        "inference, peak (1 instance)": {"weights": report.weight_bytes, "activations": report.inference_peak_bytes - report.weight_bytes},
        "inference, keep all (1 instance)": {"weights": report.weight_bytes, "activations": activation_bytes, "input": input_bytes},
        f"training (batch {report.batch_size}, {report.optimizer})": dict(report.training_breakdown),
    }
    rows = [
        {"scenario": scenario, "part": part, "bytes": int(parts.get(part, 0)), "MB": parts.get(part, 0) / 1e6, "MiB": parts.get(part, 0) / 2**20}
        for scenario, parts in scenarios.items()
        for part in MEMORY_PARTS
    ]
    return pd.DataFrame(rows, columns=["scenario", "part", "bytes", "MB", "MiB"])


def memory_breakdown_chart(frame: pd.DataFrame) -> alt.Chart:
    """Stacked horizontal bars of the memory breakdown, one bar per scenario, in MB (10⁶ bytes)."""
    return (
        alt.Chart(frame[frame["bytes"] > 0], title="Memory: inference vs training (MB = 10⁶ bytes)")
        .mark_bar()
        .encode(
            x=alt.X("sum(MB):Q", title="MB"),
            y=alt.Y("scenario:N", sort=list(dict.fromkeys(frame["scenario"])), title=None, axis=alt.Axis(labelLimit=300)),
            color=alt.Color("part:N", scale=alt.Scale(domain=list(MEMORY_PARTS)), title="part", legend=alt.Legend(orient="bottom")),
            order=alt.Order("part_order:Q"),
            tooltip=["scenario", "part", alt.Tooltip("MB:Q", format=",.2f"), alt.Tooltip("MiB:Q", format=",.2f")],
        )
        .transform_calculate(part_order=f"indexof({list(MEMORY_PARTS)!r}, datum.part)")
        .properties(height=alt.Step(36))
    )


def activation_stats_frame(stats: Sequence[object]) -> pd.DataFrame:
    """Per-layer activation statistics (objects with ``layer``, ``mean``, ``std``, ``var``) as a table, in layer order."""
    return pd.DataFrame(
        [{"layer": s.layer, "mean": s.mean, "std": s.std, "var": s.var} for s in stats],
        columns=["layer", "mean", "std", "var"],
    )


def activation_stats_chart(frame: pd.DataFrame, *, height: int = 240) -> alt.Chart:
    """Each conv layer's activation mean as a bar with a ±1 std whisker, layers left to right in forward order."""
    order = list(frame["layer"])
    data = frame.assign(low=frame["mean"] - frame["std"], high=frame["mean"] + frame["std"])
    base = alt.Chart(data, title="Activations per conv layer (mean ± std over the test set)").encode(
        x=alt.X("layer:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40))
    )
    bars = base.mark_bar(opacity=0.75).encode(
        y=alt.Y("mean:Q", title="activation"),
        tooltip=["layer", alt.Tooltip("mean:Q", format=".4f"), alt.Tooltip("std:Q", format=".4f"), alt.Tooltip("var:Q", format=".4f")],
    )
    whiskers = base.mark_rule(color="black").encode(y="low:Q", y2="high:Q")
    return (bars + whiskers).properties(height=height)


def grouped_accuracy_chart(frame: pd.DataFrame, *, height: int = 260) -> alt.Chart:
    """Per-class accuracy bars grouped by class, one colour per model (a frame with class, model, accuracy)."""
    return (
        alt.Chart(frame, title="Per-class test accuracy")
        .mark_bar()
        .encode(
            x=alt.X("class:N", title=None, sort=None),
            xOffset=alt.XOffset("model:N"),
            y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            color=alt.Color("model:N", title="model"),
            tooltip=["model", "class", "examples", alt.Tooltip("accuracy:Q", format=".1%")],
        )
        .properties(height=height)
    )


def estimate_against_measured_chart(frame: pd.DataFrame, *, height: int = 160) -> alt.Chart:
    """Horizontal bars of the calculator's estimate and Keras' measured growth, per call (``call``, ``figure``, ``MB``)."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            y=alt.Y("figure:N", title=None),
            x=alt.X("MB:Q", title="MB"),
            color=alt.Color("figure:N", legend=None, scale=alt.Scale(range=["#4c78a8", "#f58518"])),
            row=alt.Row("call:N", title=None, header=alt.Header(labelAngle=0, labelAlign="left")),
            tooltip=["call", "figure", alt.Tooltip("MB:Q", format=",.1f")],
        )
        .properties(height=height // 2, title="Estimate against what Keras used")
    )


def seed_frame(seeds: Sequence[int], accuracies: Sequence[float], single_seed: int) -> pd.DataFrame:
    """One row per seed: its test accuracy, whether it is the student's single run, and its axis label (diverged runs, NaN, left out)."""
    rows = [
        {
            "seed": int(seed),
            "test accuracy": float(accuracy),
            "run": "your single run" if seed == single_seed else "another seed",
            "label": f"seed {seed} (your run)" if seed == single_seed else f"seed {seed}",
        }
        for seed, accuracy in zip(seeds, accuracies)
        if np.isfinite(accuracy)
    ]
    return pd.DataFrame(rows, columns=["seed", "test accuracy", "run", "label"])


def seed_spread_chart(frame: pd.DataFrame, *, mean: float, std: float, height: int = 220) -> alt.Chart:
    """The test accuracy of every seed as a point in its own row, over the mean (a rule) and a ±1 standard deviation band."""
    band = pd.DataFrame({"low": [mean - std], "high": [mean + std], "mean": [mean]})
    # One shared x scale for the three layers; not from zero, or five close accuracies collapse into one dot.
    scale = alt.Scale(zero=False, padding=16)
    shaded = alt.Chart(band).mark_rect(opacity=0.18, color="#4c78a8").encode(
        x=alt.X("low:Q", title="test accuracy", axis=alt.Axis(format="%"), scale=scale),
        x2="high:Q",
        tooltip=[alt.Tooltip(name, format=".1%") for name in ("mean:Q", "low:Q", "high:Q")],
    )
    average = alt.Chart(band).mark_rule(color="#4c78a8", strokeWidth=2).encode(x=alt.X("mean:Q", scale=scale))
    runs = ["your single run", "another seed"]
    points = alt.Chart(frame).mark_point(filled=True, opacity=0.9).encode(
        x=alt.X("test accuracy:Q", title="test accuracy", axis=alt.Axis(format="%"), scale=scale),
        # The axis labels name the single run: Streamlit's theme gives a legend no room at this height.
        y=alt.Y("label:N", title=None, sort=list(frame.sort_values("seed")["label"])),
        color=alt.Color("run:N", scale=alt.Scale(domain=runs, range=["#e45756", "#4c78a8"]), legend=None),
        size=alt.Size("run:N", scale=alt.Scale(domain=runs, range=[200, 80]), legend=None),
        tooltip=["seed", alt.Tooltip("test accuracy:Q", format=".2%"), "run"],
    )
    return (shaded + average + points).properties(height=height, title="Test accuracy per seed (band: mean ± 1 standard deviation)")


# --- What mattered across runs ---------------------------------------------------------------

ACCURACY_AXIS = "test accuracy"
_PARALLEL_COLUMNS = ("run", "axis", "position", "label", "tick", ACCURACY_AXIS)
# A numeric axis with more values than this shows only its ends, or its labels would overlap.
MAX_AXIS_LABELS = 8


def parallel_coordinates_frame(
    rows: Sequence[Mapping[str, object]], accuracies: Sequence[float], *, runs: Sequence[str]
) -> pd.DataFrame:
    """Runs as long rows for a parallel-coordinates chart: one point per run and axis, each axis scaled to 0–1.

    The axes are the settings that vary between the runs (in the runs' own order) and then the
    test accuracy. A number sits at its place between the axis' smallest and largest value (the
    learning rate on a log scale); a category's values are spread evenly in reading order. ``label``
    is the value as text and ``tick`` marks the points whose label the axis shows. Each row also
    carries every setting of its run for the tooltip. Runs without a test accuracy are left out.
    """
    from core.importance import axis_value, category_order, is_numeric, shown, varying_settings

    if not (len(rows) == len(accuracies) == len(runs)):
        raise ValueError(f"rows, accuracies and runs must have the same length, got {len(rows)}, {len(accuracies)} and {len(runs)}")
    scored = [index for index, accuracy in enumerate(accuracies) if np.isfinite(float(accuracy))]
    table = varying_settings([rows[index] for index in scored])
    names = list(table[0]) if table else []
    tooltip_names = {name: name if name not in _PARALLEL_COLUMNS else f"{name} (setting)" for name in names}
    positions: dict[str, list[float]] = {}
    ticks: dict[str, list[bool]] = {}
    for name in names:
        values = [row[name] for row in table]
        if is_numeric(name, values):
            placed = [axis_value(name, float(value)) for value in values]  # type: ignore[arg-type]
            low, high = min(placed), max(placed)
            positions[name] = [(value - low) / (high - low) if high > low else 0.5 for value in placed]
            few = len(set(placed)) <= MAX_AXIS_LABELS
            ticks[name] = [few or value in (low, high) for value in placed]
        else:
            order = category_order(values)
            # Values that differ can print alike (None and "none"): one category then sits mid-axis.
            if len(order) > 1:
                positions[name] = [order.index(shown(value)) / (len(order) - 1) for value in values]
            else:
                positions[name] = [0.5] * len(values)
            ticks[name] = [True] * len(values)
    scores = [float(accuracies[index]) for index in scored]
    low, high = (min(scores), max(scores)) if scores else (0.0, 0.0)
    records = []
    for place, (index, settings) in enumerate(zip(scored, table)):
        carried = {tooltip_names[name]: shown(value) for name, value in settings.items()}
        common = {"run": str(runs[index]), ACCURACY_AXIS: scores[place], **carried}
        for name in names:
            records.append(
                {**common, "axis": name, "position": positions[name][place], "label": shown(settings[name]), "tick": ticks[name][place]}
            )
        records.append(
            {
                **common, "axis": ACCURACY_AXIS, "position": (scores[place] - low) / (high - low) if high > low else 0.5,
                "label": f"{scores[place]:.1%}", "tick": scores[place] in (low, high),
            }
        )
    return pd.DataFrame(records, columns=[*_PARALLEL_COLUMNS, *tooltip_names.values()])


def parallel_coordinates_chart(frame: pd.DataFrame, *, height: int = 320) -> alt.LayerChart:
    """One line per run across the setting axes to the test-accuracy axis, coloured by accuracy, values labelled on the axes."""
    axes = list(dict.fromkeys(frame["axis"]))
    settings = [column for column in frame.columns if column not in _PARALLEL_COLUMNS]
    x = alt.X("axis:N", sort=axes, title=None, axis=alt.Axis(labelAngle=0, orient="top", labelLimit=140, domain=False, ticks=False))
    y = alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[0, 1], padding=12))
    accuracy = alt.Color(
        f"{ACCURACY_AXIS}:Q", title=ACCURACY_AXIS, scale=alt.Scale(scheme="viridis"), legend=alt.Legend(format=".0%", type="gradient")
    )
    tooltip = [
        alt.Tooltip("run:N", title="run"),
        alt.Tooltip(f"{ACCURACY_AXIS}:Q", format=".2%"),
        *[alt.Tooltip(field=name, type="nominal", title=name) for name in settings],
    ]
    base = alt.Chart(frame)
    # The vertical axes themselves: a rule per axis from 0 to 1.
    rules = (
        alt.Chart(pd.DataFrame({"axis": axes, "bottom": 0.0, "top": 1.0}))
        .mark_rule(color="#999999")
        .encode(x=alt.X("axis:N", sort=axes), y=alt.Y("bottom:Q", axis=None), y2="top:Q")
    )
    lines = base.mark_line(opacity=0.7, strokeWidth=2).encode(x=x, y=y, color=accuracy, detail="run:N", tooltip=tooltip)
    points = base.mark_circle(size=40, opacity=0.9).encode(x=x, y=y, color=accuracy, tooltip=tooltip)
    labels = (
        alt.Chart(frame[frame["tick"]].drop_duplicates(subset=["axis", "label"]))
        .mark_text(align="left", dx=6, fontSize=11, color="#444444")
        .encode(x=x, y=y, text="label:N")
    )
    # "container": a discrete x axis would otherwise take a fixed step per axis and leave the page's width unused.
    return (rules + lines + points + labels).properties(
        width="container", height=height, title="Settings against test accuracy, one line per run"
    )
