"""Download buttons for what a page produced: a trained model as ``.keras``, a results table as CSV.

Charts need nothing from here: in Streamlit 1.67 every ``st.altair_chart`` has "Download as PNG"
in the toolbar that appears on hover, and every ``st.dataframe`` has "Download as CSV" (the
browser test checks the chart button on the calculator). :func:`download_csv_button` is for
tables a page builds but does not show whole, or wants to offer as a visible button. On a page::

    from ui.export import download_csv_button, download_model_button

    download_model_button(result, key="download_lstm")
    download_csv_button(results_frame, "sequence_models_results.csv", key="download_results")
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

if TYPE_CHECKING:
    from core.training import RunResult

KERAS_MIME = "application/octet-stream"  # a .keras file is a zip archive with no registered type of its own
CSV_MIME = "text/csv"
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection);
# class names can come from a user's folder names, so such text cells get a leading apostrophe.
_FORMULA_START = re.compile(r"^[=+@\t\r]|^-(?![\d.])")


def model_file_name(result: RunResult) -> str:
    """A download name that says what the model is and which run it came from."""
    architecture = re.sub(r"[^A-Za-z0-9_-]+", "-", result.config.architecture).strip("-") or "model"
    return f"dllab-{architecture}-{result.key[:8]}.keras"


def model_bytes(result: RunResult) -> bytes:
    """The run's saved ``.keras`` file, exactly as stored in the cache."""
    if result.model_path is None:
        raise FileNotFoundError(f"run {result.key} has no saved model")
    return Path(result.model_path).read_bytes()


def download_model_button(
    result: RunResult, *, key: str, label: str = "Download the trained model (.keras)", **kwargs: object
) -> bool:
    """A button that downloads the run's ``.keras`` file; reload it with ``keras.models.load_model``.

    The file is read only when clicked, so a page with several models holds none of them in memory.
    A run whose file is gone (evicted from the cache) gets a note instead of a broken button.
    """
    if result.model_path is None or not Path(result.model_path).is_file():
        st.caption("This run's model file is no longer in the cache; train it again to download it.")
        return False
    return st.download_button(
        label,
        data=functools.partial(model_bytes, result),
        file_name=model_file_name(result),
        mime=KERAS_MIME,
        key=key,
        icon=":material/download:",
        on_click="ignore",
        **kwargs,
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV: the index only when it is named, and formula-looking text defused."""
    keep_index = any(name is not None for name in frame.index.names)
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(_defuse)
    return safe.to_csv(index=keep_index).encode("utf-8")


def download_csv_button(
    frame: pd.DataFrame, file_name: str, *, key: str, label: str = "Download as CSV", **kwargs: object
) -> bool:
    """A button that downloads ``frame`` as ``file_name`` (``.csv`` is added when missing)."""
    if not file_name.lower().endswith(".csv"):
        file_name += ".csv"
    return st.download_button(
        label,
        # Written on the click, not on every rerun: the CSV of a page's tables is work nobody asked for yet.
        data=functools.partial(csv_bytes, frame.copy()),
        file_name=file_name,
        mime=CSV_MIME,
        key=key,
        icon=":material/table_view:",
        on_click="ignore",
        **kwargs,
    )


def _defuse(value: object) -> object:
    if isinstance(value, str) and _FORMULA_START.match(value):
        return "'" + value
    return value
