"""Small Streamlit pieces the topic pages share: progress for long work, data banners, run tables."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from core.budget import WorkEstimate
from core.datasets import Dataset
from core.errors import user_message, without_paths
from core.training import TrainingProgress


def progress_reporter(label: str = "Training…") -> tuple[Callable[[TrainingProgress], None], Callable[[], None]]:
    """A progress bar and the callback that drives it, plus a function that removes the bar.

    Keras calls back from the script thread, so the placeholder can be updated directly.
    """
    bar = st.progress(0.0, text=label)

    def report(progress: TrainingProgress) -> None:
        bar.progress(min(max(progress.fraction, 0.0), 1.0), text=progress.message)

    return report, bar.empty


@contextmanager
def download_progress() -> Iterator[None]:
    """A progress bar, for the length of the block, for any dataset or weights file downloaded meanwhile.

    The router wraps every page in it: loaders download through ``core.download``, which reports
    to listeners of this thread, so the page shows "Downloading CIFAR-10: 71.6 of 170.5 MB,
    9.8 MB/s from origin www.cs.toronto.edu" without any loader knowing about pages.
    """
    from core import download

    slot = st.empty()
    state: dict[str, object] = {}

    def show(remote: download.RemoteFile, progress: download.DownloadProgress) -> None:
        fraction = progress.fraction if progress.fraction is not None else 0.0
        text = f"Downloading {remote.what}: {progress.describe()} from {progress.source}"
        if state.get("bar") is None:
            state["bar"] = slot.progress(fraction, text=text)
        else:
            state["bar"].progress(min(max(fraction, 0.0), 1.0), text=text)  # type: ignore[union-attr]

    with download.progress_listener(show):
        try:
            yield
        finally:
            if state.get("bar") is not None:
                slot.empty()


def dataset_banner(dataset: Dataset) -> None:
    """Say where the data came from; a fallback gets a visible warning, never a quiet caption."""
    if dataset.is_fallback:
        st.warning(dataset.source, icon=":material/cloud_off:")
    else:
        st.caption(f"Data: {dataset.source}")


def show_value_error(error: Exception) -> None:
    """Show a validation message from ``core`` as an error box (the message already says how to fix it).

    Server paths are taken out as a last line of defence: a message is for the student, and a
    class server's folders are nobody's business.
    """
    st.error(without_paths(str(error), limit=1500), icon=":material/error:")


def show_failure(what: str, error: BaseException) -> None:
    """An unexpected failure as one error box naming what failed, never a traceback or a server path."""
    st.error(f"{what} failed: {user_message(error)}", icon=":material/error:")


_MARKDOWN_SPECIALS = frozenset("\\`*_{}[]()<>#+-.!|~:$=^")


def escape_markdown(text: str) -> str:
    """Someone's text shown as Markdown but read literally: no links, images, colours, icons or maths.

    An exercise question comes from whoever made the link, so it must not be able to pull in an
    image from elsewhere or dress itself up as the app's own notices. Line breaks are kept.
    """
    escaped = "".join(f"\\{character}" if character in _MARKDOWN_SPECIALS else character for character in text)
    return "  \n".join(escaped.splitlines())


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


@st.cache_resource
def _prepared_choices() -> set[str]:
    """Heavy choices some session already prepared on this server: showing them again is cheap."""
    return set()


def wait_for_click(choice_key: str, work: WorkEstimate, *, what: str, button: str, advice: str, key: str) -> None:
    """Stop the page behind a button when ``work`` is heavy and no session has done it yet.

    A pasted link never makes the server do heavy work on its own: the student sees what it
    will cost and decides. Call :func:`mark_prepared` once the work is done, so later visitors
    (who get the cached result) are not asked.
    """
    if work.light or is_prepared(choice_key) or st.session_state.get(f"{key}_clicked") == choice_key:
        return
    waiting = st.empty()
    with waiting.container():
        st.info(
            f"{what} takes {work.describe()} of the server's work, so it waits for a click. {advice}",
            icon=":material/hourglass_top:",
        )
        clicked = st.button(f"{button} ({work.describe()})", key=key, icon=":material/play_arrow:")
    if not clicked:
        st.stop()
    waiting.empty()
    st.session_state[f"{key}_clicked"] = choice_key


def is_prepared(choice_key: str) -> bool:
    """True when some session already did (and cached) the heavy work behind ``choice_key``."""
    return choice_key in _prepared_choices()


def mark_prepared(choice_key: str) -> None:
    """Remember that the heavy work behind ``choice_key`` is done (and cached) on this server."""
    _prepared_choices().add(choice_key)
