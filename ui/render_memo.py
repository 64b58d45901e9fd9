"""Charts and pictures of the pages, built once per distinct input and shared by every session.

Measured under a class's load (``benchmarks/class_load.py`` with py-spy on the server), building
Altair charts was 58% of the server's script time: ``encode`` wraps every channel through the
schema (``from_dict`` hashes a JSON dump of it) and ``to_dict`` validates the whole spec with
jsonschema, on every rerun, for every student, although most students look at the same cached
runs. Once that was gone, encoding the same feature-map grids as PNG on every rerun was the
biggest part of the CIFAR page. Both are memoised here, keyed by the builder's name and a
fingerprint of its inputs, and built once even when a whole class asks at the same moment:

    column.vega_lite_chart(chart_spec(charts.learning_curves, frame, metric="loss"), width="stretch")
    st.image(picture_png(viz.filter_grid, kernel, upscale=4))

``chart_spec`` builds through Streamlit's own Altair conversion, so the spec and its Arrow
datasets are exactly what ``st.altair_chart`` would send. Inputs the fingerprint does not know
(anything but numbers, text, arrays, frames and containers of them), and builders without a
stable name (lambdas, local functions), are built every time.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import numpy as np
import pandas as pd

Value = TypeVar("Value")
_Spec = tuple[str, dict[str, bytes]]  # a chart's JSON without its datasets, and the datasets (Arrow IPC)


class BoundedMemo(Generic[Value]):
    """Values by key, least recently used out first past ``max_items`` or ``max_bytes``; one build per key at a time."""

    def __init__(self, max_items: int, max_bytes: int, size: Callable[[Value], int]) -> None:
        self.max_items, self.max_bytes, self._size = max_items, max_bytes, size
        self._values: OrderedDict[str, Value] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._building: dict[str, tuple[threading.Lock, int]] = {}  # key -> (its lock, sessions waiting or building)

    def get_or_build(self, key: str | None, build: Callable[[], Value]) -> Value:
        if key is None:
            return build()
        with self._building_lock(key):  # a class arriving at once builds each value once, not once per student
            with self._lock:
                value = self._values.get(key)
                if value is not None:
                    self._values.move_to_end(key)
                    return value
            value = build()
            self._remember(key, value)
            return value

    def size(self) -> tuple[int, int]:
        """How many values are kept, and their bytes."""
        with self._lock:
            return len(self._values), self._bytes

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._bytes = 0

    def is_idle(self) -> bool:
        """Nothing is being built or waited for."""
        with self._lock:
            return not self._building

    def _remember(self, key: str, value: Value) -> None:
        size = self._size(value)
        if size > self.max_bytes // 4:
            return  # one huge value would push out everyone else's
        with self._lock:
            if key in self._values:
                return
            self._values[key] = value
            self._bytes += size
            while len(self._values) > self.max_items or self._bytes > self.max_bytes:
                _, dropped = self._values.popitem(last=False)
                self._bytes -= self._size(dropped)

    @contextmanager
    def _building_lock(self, key: str) -> Iterator[None]:
        with self._lock:
            lock, users = self._building.get(key, (threading.Lock(), 0))
            self._building[key] = (lock, users + 1)
        try:
            with lock:
                yield
        finally:
            with self._lock:
                lock, users = self._building[key]
                if users == 1:
                    del self._building[key]
                else:
                    self._building[key] = (lock, users - 1)


specs: BoundedMemo[_Spec] = BoundedMemo(512, 64 * 1024 * 1024, lambda spec: len(spec[0]) + sum(map(len, spec[1].values())))
pictures: BoundedMemo[bytes] = BoundedMemo(2048, 64 * 1024 * 1024, len)


class _Unknown(Exception):
    """An input the fingerprint cannot describe faithfully: the value is built without the memo."""


def chart_spec(build: Callable[..., Any], /, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """``build(*args, **kwargs)`` as a Vega-Lite spec for ``st.vega_lite_chart``, from the memo when seen before.

    The result is a fresh dict the caller may hand on (Streamlit mutates what it is given).
    """
    text, datasets = specs.get_or_build(_key(build, args, kwargs), lambda: _to_spec(build(*args, **kwargs)))
    fresh = json.loads(text)
    if datasets:
        fresh["datasets"] = dict(datasets)
    return fresh


def picture_png(build: Callable[..., np.ndarray], /, *args: Any, **kwargs: Any) -> bytes:
    """``build(*args, **kwargs)``, a ``uint8`` image ``(H, W)`` or ``(H, W, 1 | 3 | 4)``, as PNG bytes for ``st.image``."""
    return pictures.get_or_build(_key(build, args, kwargs), lambda: _to_png(build(*args, **kwargs)))


def clear_memos() -> None:
    """Forget every chart and picture (tests)."""
    specs.clear()
    pictures.clear()


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


def _to_png(image: np.ndarray) -> bytes:
    from PIL import Image

    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(f"a picture must be uint8 (0–255), got {array.dtype}")
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


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
