"""'Check your answer': is a student's parameter or memory figure right, and if not, which classic mistake gives it?

Each quantity has a small family of candidate answers: the right one, and the figures that
well-known slips produce (forgetting the bias, counting activations for one image instead of the
whole batch, MB vs MiB, ...; each layer kind adds its own, such as multiplying a convolution by
the input channels twice, in :mod:`core.calculator.kinds`). A claim is matched to the
candidate with the fewest slips that lies within rounding distance of it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from core.calculator.kinds import KINDS
from core.calculator.network import MEBIBYTE, MEGABYTE
from core.calculator.report import LayerReport, NetworkReport
from core.calculator.validation import shown_number

QUANTITIES: dict[str, str] = {
    "params": "parameters",
    "inference": "RAM to predict one instance",
    "training": "RAM to train one batch",
}
MEMORY_UNITS: dict[str, int] = {"MB": MEGABYTE, "MiB": MEBIBYTE, "bytes": 1}

# Students round to three significant figures ("17.8 MB"); that is at most 0.5% off.
DEFAULT_MEMORY_TOLERANCE = 0.005


@dataclass(frozen=True)
class Candidate:
    """A figure a student might arrive at, and the slips (empty when right) that lead to it."""

    value: float
    slips: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class AnswerCheck:
    """The verdict on one claimed figure."""

    quantity: str
    claimed: float
    unit: str
    expected: float
    correct: bool
    mistakes: tuple[str, ...]
    message: str

    @property
    def recognised_mistake(self) -> bool:
        """Wrong, but in a way the checker can name."""
        return not self.correct and bool(self.mistakes)


def check_answer(
    report: NetworkReport,
    quantity: str,
    claimed: float,
    *,
    unit: str = "MB",
    layer: int | None = None,
    tolerance: float = DEFAULT_MEMORY_TOLERANCE,
) -> AnswerCheck:
    """Judge a claimed figure for ``report``: right, a named classic mistake, or simply wrong.

    ``quantity`` is ``"params"`` (of the network, or of ``layer``, counted from 1), ``"inference"``
    or ``"training"``; memory claims are in ``unit`` (MB = 10⁶ bytes, MiB = 2²⁰ bytes, or bytes).
    Parameter counts must match exactly; memory within ``tolerance`` (relative).
    """
    if quantity not in QUANTITIES:
        raise ValueError(f"unknown quantity {quantity!r}; choose one of {', '.join(QUANTITIES)}")
    try:
        claimed = float(claimed)
    except (TypeError, ValueError):
        raise ValueError(f"the claimed figure must be a number, got {shown_number(claimed)}") from None
    except OverflowError:
        # An int past 1e308 (no page widget can send one, but callers can) is no one's answer.
        raise ValueError(f"the claimed figure must be at most about 1e+308, got {shown_number(claimed)}") from None
    if not (math.isfinite(claimed) and claimed > 0):
        raise ValueError(f"the claimed figure must be a positive number, got {claimed:g}")

    if quantity == "params":
        if layer is not None and not 1 <= layer <= len(report.layers):
            raise ValueError(f"layer must be between 1 and {len(report.layers)}, got {layer}")
        candidates = _param_candidates(report, layer)
        unit_scale, tolerance, unit = 1, 0.0, "parameters"
    else:
        if unit not in MEMORY_UNITS:
            raise ValueError(f"unknown unit {unit!r}; choose one of {', '.join(MEMORY_UNITS)}")
        unit_scale = MEMORY_UNITS[unit]
        memory = _inference_candidates(report, unit) if quantity == "inference" else _training_candidates(report)
        candidates = _with_unit_slips(memory, report.dtype_bytes, unit)

    expected = candidates[0].value / unit_scale
    claimed_in_base = claimed * unit_scale
    matches = [c for c in candidates if _close(claimed_in_base, c.value, tolerance)]
    best = min(matches, key=lambda c: len(c.slips)) if matches else None
    correct = best is not None and not best.slips
    mistakes = best.slips if best else ()
    what = _describe(report, quantity, layer)
    answer = f"{what} = {_format_value(expected, unit)}"
    if correct:
        message = f"Right if nothing is freed: {_format_value(claimed, unit)}. {best.note}" if best.note else f"Right: {answer}."
    elif mistakes:
        message = f"Not quite: {_format_value(claimed, unit)} is what you get if you " + "; and ".join(mistakes) + f". {answer}."
    else:
        message = (
            f"Not right, and {_format_value(claimed, unit)} matches none of the classic mistakes. "
            f"{answer}; compare with the per-layer formulas."
        )
    return AnswerCheck(
        quantity=quantity,
        claimed=claimed,
        unit=unit,
        expected=expected,
        correct=correct,
        mistakes=mistakes,
        message=message,
    )


# --- parameters -----------------------------------------------------------------------------

_BIAS = "forgot the bias (one per filter or unit)"
_TRAINABLE_ONLY = "counted only the trainable parameters; Keras' total also counts BatchNorm's moving mean and variance"


def _layer_slips(layer: LayerReport, image_channels: int) -> list[Candidate]:
    """Wrong counts for one layer, each with the slip that produces it: the bias, then its kind's own."""
    slips: list[Candidate] = []
    if layer.bias_params:
        slips.append(Candidate(layer.params - layer.bias_params, (_BIAS,)))
    slips += [Candidate(slip.params, (slip.slip,)) for slip in KINDS[layer.type].slips(layer, image_channels)]
    return slips


def _param_candidates(report: NetworkReport, layer: int | None) -> list[Candidate]:
    image_channels = report.input_shape[-1] if len(report.input_shape) == 3 else 1
    if layer is not None:
        chosen = report.layers[layer - 1]
        right = Candidate(chosen.params, ())
        extra = [Candidate(chosen.trainable_params, (_TRAINABLE_ONLY,))] if chosen.non_trainable_params else []
        return [right, *_layer_slips(chosen, image_channels), *extra]

    total = report.total_params
    candidates = [Candidate(total, ())]
    if report.non_trainable_params:
        candidates.append(Candidate(report.trainable_params, (_TRAINABLE_ONLY,)))
    biases = sum(item.bias_params for item in report.layers)
    if biases:
        candidates.append(Candidate(total - biases, (_BIAS,)))
    # The same slip made in one layer, or consistently in every layer where it is possible.
    per_slip: dict[tuple[str, ...], int] = {}
    for item in report.layers:
        for slip in _layer_slips(item, image_channels):
            candidates.append(Candidate(total - item.params + slip.value, (f"{slip.slips[0]} in {item.name}",)))
            per_slip[slip.slips] = per_slip.get(slip.slips, 0) + slip.value - item.params
    candidates += [Candidate(total + change, slips) for slips, change in per_slip.items() if slips != (_BIAS,)]
    return candidates


# --- memory ---------------------------------------------------------------------------------


def _inference_candidates(report: NetworkReport, unit: str) -> list[Candidate]:
    weights = report.weight_bytes
    live = report.inference_peak_bytes - weights
    kept = report.inference_keep_all_bytes - weights
    input_bytes = report.input_values * report.dtype_bytes
    keep_all_note = (
        "That is the keep-everything figure; freeing each layer's input once its output exists "
        f"brings the peak down to {_format_value(report.inference_peak_bytes / MEMORY_UNITS[unit], unit)}."
    )
    candidates = [
        Candidate(report.inference_peak_bytes, ()),
        Candidate(report.inference_keep_all_bytes, (), note=keep_all_note),
        Candidate(live, ("forgot the weights, which must be in memory too",)),
        Candidate(kept, ("forgot the weights, which must be in memory too", "kept every activation")),
        Candidate(report.inference_keep_all_bytes - input_bytes, ("forgot the input image",)),
        Candidate(kept - input_bytes, ("counted only the layer outputs, forgetting the weights and the input",)),
    ]
    if report.batch_size > 1:
        batch = report.batch_size
        candidates.append(Candidate(weights + batch * kept, (f"used the whole batch of {batch}; the question is about one instance",)))
        candidates.append(Candidate(weights + batch * live, (f"used the whole batch of {batch}; the question is about one instance",)))
    return candidates


_TRAINING_PARTS = {
    "weights": "forgot the weights",
    "gradients": "forgot the gradients (one per trainable weight)",
    "optimizer": "forgot the optimizer state ({slots} value(s) per trainable weight for {optimizer})",
    "activations": "forgot the activations, which backpropagation needs",
    "input": "forgot the input batch",
}


def _training_candidates(report: NetworkReport) -> list[Candidate]:
    """Every subset of the breakdown, with the batch-dependent parts for the batch or for one instance."""
    breakdown = report.training_breakdown
    parts = [name for name in _TRAINING_PARTS if breakdown.get(name, 0) > 0]
    batch = report.batch_size
    slots = breakdown.get("optimizer", 0) // max(breakdown.get("gradients", 1), 1)
    candidates = [Candidate(report.training_bytes, ())]
    for size in range(len(parts), 0, -1):
        for kept in itertools.combinations(parts, size):
            forgotten = tuple(
                _TRAINING_PARTS[name].format(slots=slots, optimizer=report.optimizer) for name in parts if name not in kept
            )
            value = sum(breakdown[name] for name in kept)
            if forgotten:
                candidates.append(Candidate(value, forgotten))
            if batch > 1 and ("activations" in kept or "input" in kept):
                per_instance = sum(breakdown[name] // batch if name in ("activations", "input") else breakdown[name] for name in kept)
                one_image = (
                    f"counted the activations for one image only; training keeps every layer's activations "
                    f"for all {batch} images of the batch"
                )
                candidates.append(Candidate(per_instance, (one_image, *forgotten)))
    return candidates


def _with_unit_slips(candidates: list[Candidate], dtype_bytes: int, unit: str) -> list[Candidate]:
    """Add the unit slips: MB and MiB swapped, and values counted instead of bytes."""
    result = list(candidates)
    if unit in ("MB", "MiB"):
        other = "MiB" if unit == "MB" else "MB"
        # A figure computed in ``other`` but labelled ``unit`` is off by the ratio of the two.
        ratio = MEMORY_UNITS[unit] / MEMORY_UNITS[other]
        swapped = f"gave {other} (1 {other} = {MEMORY_UNITS[other]:,} bytes) where {unit} was asked ({MEMORY_UNITS[unit]:,} bytes)"
        result += [Candidate(c.value * ratio, (*c.slips, swapped)) for c in candidates]
    if dtype_bytes > 1:
        counted = f"counted values, not bytes (each value takes {dtype_bytes} bytes)"
        result += [Candidate(c.value / dtype_bytes, (*c.slips, counted)) for c in candidates]
    return result


def _describe(report: NetworkReport, quantity: str, layer: int | None) -> str:
    if quantity == "params":
        return "Parameters of the network" if layer is None else f"Parameters of layer {layer} ({report.layers[layer - 1].name})"
    if quantity == "inference":
        return "RAM to predict one instance"
    return f"RAM to train on a batch of {report.batch_size}"


def _close(claimed: float, candidate: float, tolerance: float) -> bool:
    if tolerance == 0:
        return abs(claimed - candidate) < 0.5
    return abs(claimed - candidate) <= tolerance * abs(candidate)


def _format_value(value: float, unit: str) -> str:
    if unit == "parameters":
        return f"{value:,.0f} parameters"
    if unit == "bytes":
        return f"{value:,.0f} bytes"
    return f"{value:,.2f} {unit}"
