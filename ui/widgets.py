"""Small Streamlit pieces the topic pages share: progress for long work, data banners, run tables."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.datasets import Dataset
from core.training import TrainingProgress


def progress_reporter(label: str = "Training…") -> tuple[Callable[[TrainingProgress], None], Callable[[], None]]:
    """A progress bar and the callback that drives it, plus a function that removes the bar.

    Keras calls back from the script thread, so the placeholder can be updated directly.
    """
    bar = st.progress(0.0, text=label)

    def report(progress: TrainingProgress) -> None:
        bar.progress(min(max(progress.fraction, 0.0), 1.0), text=progress.message)

    return report, bar.empty


def dataset_banner(dataset: Dataset) -> None:
    """Say where the data came from; a fallback gets a visible warning, never a quiet caption."""
    if dataset.is_fallback:
        st.warning(dataset.source, icon=":material/cloud_off:")
    else:
        st.caption(f"Data: {dataset.source}")


def show_value_error(error: Exception) -> None:
    """Show a validation message from ``core`` as an error box (the message already says how to fix it)."""
    st.error(str(error), icon=":material/error:")


def inline_code(text: str) -> str:
    """``text`` as Markdown inline code, whatever backticks it holds.

    Short code and paths are shown this way rather than with ``st.code``, whose syntax
    highlighter is a 1.6 MB script the browser must fetch before the page is complete.
    """
    longest = 0
    run = 0
    for character in text:
        run = run + 1 if character == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{padding}{text}{padding}{fence}"
