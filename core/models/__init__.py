"""Keras model builders, one function per architecture, found by name.

``build_model(architecture, input_shape, num_classes, **options)`` imports the module that
defines the architecture on first use, so nothing here imports TensorFlow until a model is built.
A builder returns an uncompiled ``keras.Model``; the training engine compiles it. A model with a
single output unit is trained as a binary classifier, any other as a softmax classifier.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# Modules that register builders. Add a module here when you add a file of builders.
_BUILDER_MODULES = ("core.models.basic", "core.models.sequence", "core.models.transfer", "core.models.audio", "core.models.cifar")
_BUILDERS: dict[str, Callable[..., Any]] = {}


def register_builder(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator that makes a builder reachable through :func:`build_model`."""

    def decorate(builder: Callable[..., Any]) -> Callable[..., Any]:
        _BUILDERS[name] = builder
        return builder

    return decorate


def _load_all() -> None:
    for module in _BUILDER_MODULES:
        importlib.import_module(module)


def architectures() -> list[str]:
    """Every registered architecture name (imports the builder modules, and so Keras)."""
    _load_all()
    return sorted(_BUILDERS)


def build_model(architecture: str, input_shape: tuple[int, ...], num_classes: int, **options: Any) -> Any:
    """Build the named architecture for inputs of ``input_shape`` and ``num_classes`` classes."""
    _load_all()
    if architecture not in _BUILDERS:
        raise ValueError(f"unknown architecture {architecture!r}; choose one of {', '.join(sorted(_BUILDERS))}")
    return _BUILDERS[architecture](tuple(input_shape), num_classes, **options)

