"""Kept only until the pages move to ``core.training.prestart`` (the Dask executor replaced the worker)."""

from core.training.executor import prestart

__all__ = ["prestart"]
