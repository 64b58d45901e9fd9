"""The memory guard: the RAM each mode needs, from the CNN calculator, against the RAM available now.

The estimates count the same layer lists the models are built from (:mod:`core.homework`), so
the guard and the network it guards cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core import settings
from core.homework import HOMEWORK, dense_head
from core.models.transfer import base_layers, last_block
from core.transfer.modes import MODE_LABELS, MODES

# CS-577 Homework 4 ran VGG16 at 500×500 on 600 images in batches of 32, and ran out of RAM.
HOMEWORK_CASE_SHAPE = (500, 500, 3)
HOMEWORK_CASE_BATCH = 32
HOMEWORK_CASE_IMAGES = 600


@dataclass(frozen=True)
class MemoryEstimate:
    """The RAM a mode needs, split into its parts (bytes), from ``core.calculator``."""

    mode: str
    input_shape: tuple[int, ...]
    batch_size: int
    parts: dict[str, int]
    explanation: str

    @property
    def total_bytes(self) -> int:
        """The sum of all parts."""
        return sum(self.parts.values())


def base_input_shape(kind: str, image_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape the base sees: VGG16 gets three channels (grayscale is repeated), the small CNN the images as they are."""
    return tuple(image_shape[:2]) + (3,) if kind == "vgg16" else tuple(image_shape)


def estimate_memory(
    kind: str,
    input_shape: tuple[int, int, int],
    *,
    num_classes: int,
    batch_size: int,
    mode: str,
    augment: bool = False,
    images: int = 0,
) -> MemoryEstimate:
    """RAM for one mode: base, head and the image arrays held in memory, per ``core.calculator``.

    A frozen layer keeps no activations for backpropagation (nothing before it needs a gradient),
    so it costs only its inference peak; trainable layers keep every activation of the batch.
    """
    from core.calculator import analyze

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    base = list(base_layers(kind))
    head = list(dense_head(num_classes))
    whole_base = analyze(input_shape, base, batch_size=batch_size)
    features = whole_base.output_shape
    # Preprocessed float32 images, plus the copy tf.data makes of them.
    parts = {"image arrays (float32, ×2 for tf.data)": 2 * images * int(np.prod(input_shape)) * 4}
    if mode == "feature_extraction":
        parts["frozen base, forward only"] = _forward_bytes(whole_base)
        parts["head training"] = analyze(features, head, batch_size=batch_size).training_bytes
        explanation = "The frozen base only runs forward, so it needs its weights and one layer's input and output."
        if not augment:
            parts["cached features"] = images * int(np.prod(features)) * 4
    elif mode == "fine_tune":
        block = last_block(kind)
        split = next(index for index, layer in enumerate(base) if str(layer.get("name", "")).startswith(block))
        frozen = analyze(input_shape, base[:split], batch_size=batch_size)
        trainable = analyze(frozen.output_shape, base[split:] + head, batch_size=batch_size)
        parts["frozen blocks, forward only"] = _forward_bytes(frozen)
        parts["last block + head training"] = trainable.training_bytes
        explanation = "The frozen blocks run forward only; the last block and head keep activations, gradients and Adam state."
    else:
        full = analyze(input_shape, base + head, batch_size=batch_size)
        parts["whole network training"] = full.training_bytes
        explanation = "Every layer trains, so every activation of the batch is kept for backpropagation."
    return MemoryEstimate(mode, tuple(input_shape), batch_size, parts, explanation)


def _forward_bytes(report: Any) -> int:
    """Weights plus the largest live input-and-output pair, for the whole batch.

    The calculator's ``inference_peak_bytes`` is for one instance; activations scale with the batch.
    """
    per_instance = report.inference_peak_bytes - report.weight_bytes
    return report.weight_bytes + report.batch_size * per_instance


def check_memory(estimate: MemoryEstimate, available_bytes: int | None) -> None:
    """Refuse, with the numbers, a run whose estimate exceeds the RAM available (``None`` = unknown, allowed)."""
    if available_bytes is None or estimate.total_bytes <= available_bytes:
        return
    size = "×".join(str(n) for n in estimate.input_shape)
    biggest = max(estimate.parts, key=estimate.parts.__getitem__)
    raise ValueError(
        f"{MODE_LABELS[estimate.mode]} at {size}, batch {estimate.batch_size}, needs about "
        f"{settings.format_bytes(estimate.total_bytes)} of RAM but only {settings.format_bytes(available_bytes)} "
        f"is available (largest part: {biggest}, {settings.format_bytes(estimate.parts[biggest])}). "
        "Use a smaller input size or batch, or freeze the base."
    )


def refusals(estimates: dict[str, MemoryEstimate], available_bytes: int | None) -> dict[str, str]:
    """The modes the guard refuses, each with the message that says why."""
    refused = {}
    for mode, estimate in estimates.items():
        try:
            check_memory(estimate, available_bytes)
        except ValueError as error:
            refused[mode] = str(error)
    return refused


def estimate_table(estimates: dict[str, MemoryEstimate]) -> list[dict[str, str]]:
    """One row per mode: its parts and total, in readable sizes."""
    return [
        {
            "mode": MODE_LABELS[mode],
            **{part: settings.format_bytes(size) for part, size in estimate.parts.items()},
            "total": settings.format_bytes(estimate.total_bytes),
        }
        for mode, estimate in estimates.items()
    ]


def homework_case_summary(available_bytes: int | None) -> tuple[str, str | None]:
    """CS-577 Homework 4's out-of-memory case estimated mode by mode, and what the guard would say about it here."""
    case = [
        estimate_memory("vgg16", HOMEWORK_CASE_SHAPE, num_classes=2, batch_size=HOMEWORK_CASE_BATCH, mode=mode, images=HOMEWORK_CASE_IMAGES)
        for mode in MODES
    ]
    side = HOMEWORK_CASE_SHAPE[0]
    summary = (
        f"**{HOMEWORK['cs577_hw4'].name}'s case** – VGG16 at {side}×{side}, batch {HOMEWORK_CASE_BATCH}, "
        f"{HOMEWORK_CASE_IMAGES} images (it ran out of RAM): "
        + "; ".join(f"{MODE_LABELS[estimate.mode]} ≈ {settings.format_bytes(estimate.total_bytes)}" for estimate in case)
        + f". Activations grow with the square of the input side, so {side}×{side} needs "
        f"~{round((side / 64) ** 2)}× the activation memory of 64×64."
    )
    if not available_bytes:
        return summary, None
    too_big = [MODE_LABELS[estimate.mode].lower() for estimate in case if estimate.total_bytes > available_bytes]
    here = f"With {settings.format_bytes(available_bytes)} available here"
    return summary, (f"{here}, the guard would refuse: {', '.join(too_big)}." if too_big else f"{here}, all three would fit.")
