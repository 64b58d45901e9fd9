"""Vega-Lite specs of the pages' Altair charts, built once per distinct input and shared by every session.

Measured under a class's load (``benchmarks/class_load.py`` with py-spy on the server), building
Altair charts was 58% of the server's script time: ``encode`` wraps every channel through the
schema (``from_dict`` hashes a JSON dump of it) and ``to_dict`` validates the whole spec with
jsonschema, on every rerun, for every student, although most students look at the same cached
runs. ``chart_spec(build, *inputs)`` keys a spec by the builder's name and a fingerprint of its
inputs, builds it the first time (through Streamlit's own Altair conversion, so the spec and its
Arrow datasets are exactly what ``st.altair_chart`` would send) and afterwards only copies it::

    column.vega_lite_chart(chart_spec(charts.learning_curves, frame, metric="loss"), width="stretch")

Inputs the fingerprint does not know (anything but numbers, text, arrays, frames and containers
of them), and builders without a stable name (lambdas, local functions), are built every time.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

MAX_SPECS = 512
MAX_SPEC_BYTES = 64 * 1024 * 1024

_Spec = tuple[str, dict[str, bytes]]  # the spec's JSON without its datasets, and the datasets (Arrow IPC)
_specs: OrderedDict[str, _Spec] = OrderedDict()
_spec_bytes = 0
_lock = threading.Lock()
_building: dict[str, tuple[threading.Lock, int]] = {}  # key -> (its lock, sessions waiting for it or building it)


class _Unknown(Exception):
    """An input the fingerprint cannot describe faithfully: the chart is built without the memo."""


def chart_spec(build: Callable[..., Any], /, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``build(*args, **kwargs)`` as a Vega-Lite spec for ``st.vega_lite_chart``, from the memo when seen before.

    The result is a fresh dict the caller may hand on (Streamlit mutates what it is given).
    """
    key = _key(build, args, kwargs)
    if key is None:
        spec = _to_spec(build(*args, **kwargs))
    else:
        with _building_lock(key):  # a class arriving at once builds each chart once, not once per student
            with _lock:
                spec = _specs.get(key)
                if spec is not None:
                    _specs.move_to_end(key)
            if spec is None:
                spec = _to_spec(build(*args, **kwargs))
                _remember(key, spec)
    text, datasets = spec
    fresh = json.loads(text)
    if datasets:
        fresh["datasets"] = dict(datasets)
    return fresh


@contextmanager
def _building_lock(key: str) -> Iterator[None]:
    with _lock:
        lock, users = _building.get(key, (threading.Lock(), 0))
        _building[key] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _lock:
            lock, users = _building[key]
            if users == 1:
                del _building[key]
            else:
                _building[key] = (lock, users - 1)


def memo_size() -> tuple[int, int]:
    """How many specs are kept, and their bytes."""
    with _lock:
        return len(_specs), _spec_bytes


def clear_memo() -> None:
    """Forget every spec (tests)."""
    global _spec_bytes
    with _lock:
        _specs.clear()
        _spec_bytes = 0


def _to_spec(chart: Any) -> _Spec:
    try:
        # Streamlit's own conversion: its theme handling, and each dataset as Arrow bytes named by
        # a hash of its content, as st.altair_chart sends them.
        from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

        spec = dict(_convert_altair_to_vega_lite_spec(chart))
    except ImportError:  # a Streamlit that moved it: inline values, which st.vega_lite_chart also takes
        spec = dict(chart.to_dict())
    datasets = spec.pop("datasets", None) or {}
    if any(not isinstance(value, bytes) for value in datasets.values()):
        spec["datasets"] = datasets  # not Arrow bytes (GeoJSON, inline rows): kept in the JSON
        datasets = {}
    return json.dumps(spec), dict(datasets)


def _remember(key: str, spec: _Spec) -> None:
    global _spec_bytes
    size = len(spec[0]) + sum(len(value) for value in spec[1].values())
    if size > MAX_SPEC_BYTES // 4:
        return  # one huge chart would push out everyone else's
    with _lock:
        if key in _specs:
            return
        _specs[key] = spec
        _spec_bytes += size
        while len(_specs) > MAX_SPECS or _spec_bytes > MAX_SPEC_BYTES:
            _, (text, datasets) = _specs.popitem(last=False)
            _spec_bytes -= len(text) + sum(len(value) for value in datasets.values())


def _key(build: Callable[..., Any], args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str | None:
    name = f"{getattr(build, '__module__', '')}.{getattr(build, '__qualname__', '')}"
    if "<" in name or name == ".":
        return None  # a lambda or a local function: two of them may share a name
    digest = hashlib.blake2b(name.encode(), digest_size=20)
    try:
        _fingerprint(args, digest)
        _fingerprint(sorted(kwargs.items()), digest)
    except _Unknown:
        return None
    return digest.hexdigest()


def _fingerprint(value: Any, digest: Any) -> None:
    """Feed ``value`` into ``digest`` so that equal inputs, and only they, give equal digests."""
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, bytes):
        digest.update(b"bytes:%d:" % len(value) + value)
    elif isinstance(value, pd.DataFrame):
        digest.update(f"frame:{value.shape}:".encode())
        _fingerprint([str(name) for name in value.columns], digest)
        _fingerprint(value.index, digest)
        for _, column in value.items():
            _fingerprint(column, digest)
    elif isinstance(value, pd.RangeIndex):
        digest.update(f"range:{value.start}:{value.stop}:{value.step}:{value.name!r};".encode())
    elif isinstance(value, (pd.Series, pd.Index)):
        digest.update(f"{type(value).__name__}:{value.dtype}:{len(value)}:{value.name!r}:".encode())
        if isinstance(value.dtype, pd.CategoricalDtype):  # the categories' order sorts a chart's axis
            _fingerprint([list(map(str, value.dtype.categories)), value.dtype.ordered], digest)
        _fingerprint(value.to_numpy(), digest)
    elif isinstance(value, np.ndarray):
        digest.update(f"array:{value.dtype.str}:{value.shape};".encode())
        if value.dtype.hasobject:  # text and mixed values: each one's repr, length-prefixed, tells 'nan' from nan
            digest.update("".join(f"{len(text)}:{text}" for text in map(repr, value.ravel().tolist())).encode())
        else:
            digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, Mapping):
        digest.update(f"map:{len(value)}:".encode())
        for item in value.items():  # in order: a chart draws its parts in the mapping's order
            _fingerprint(item, digest)
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}:{len(value)}:".encode())
        for item in value:
            _fingerprint(item, digest)
    else:
        raise _Unknown(type(value).__name__)
