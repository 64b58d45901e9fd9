"""Show the code: a finished run's standalone Keras script on the page, with a download button.

One call under a page's results::

    from ui.code_export import code_section

    code_section(results, key="seq_code", label=model_label)

The script is written only while the toggle is on (it reads the run's saved model), and a run
that cannot be exported faithfully gets the reason instead of a script.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from core.codegen import ScriptUnavailable, keras_script, script_file_name
from core.training import RunResult

PYTHON_MIME = "text/x-python"


@st.cache_data(show_spinner=False, max_entries=64)
def _cached_script(key: str, _result: RunResult) -> str:
    """The run's script; a run's key fixes everything the script says. A refusal raises, so it is not kept:
    a run whose model file was evicted gets its script once the file is back."""
    return keras_script(_result)


def _script(result: RunResult) -> tuple[str | None, str]:
    """The run's script (or ``None``) and why not."""
    try:
        return _cached_script(result.key, result), ""
    except ScriptUnavailable as reason:
        return None, str(reason)


def _run_label(result: RunResult) -> str:
    return f"{result.config.architecture} · run {result.key[:8]}"


def code_section(
    results: RunResult | Sequence[RunResult | None] | Mapping[str, RunResult] | None,
    *,
    key: str,
    label: Callable[[RunResult], str] = _run_label,
) -> None:
    """A "Show the code" toggle: the chosen run's standalone script with ``st.code`` and a ``.py`` download.

    ``results`` is one run, a list of runs (named by ``label``) or a mapping from the page's names to runs.
    """
    if isinstance(results, Mapping):
        names = {run.key: name for name, run in results.items() if run is not None}
        runs = [run for run in results.values() if run is not None]
        label = lambda run: names[run.key]  # noqa: E731 - the page's own names for its runs
    else:
        if isinstance(results, RunResult):
            results = [results]
        runs = [result for result in results or [] if result is not None]
    if not runs:
        return
    if not st.toggle(
        "Show the code", key=f"{key}_show",
        help="A standalone Python script (Keras on TensorFlow, NumPy, scikit-learn; no DL Lab) that loads the same data, builds the "
        "same network and trains it the same way. Its last line prints the parameter count and test accuracy.",
    ):
        return
    chosen = runs[0]
    if len(runs) > 1:
        names = [label(run) for run in runs]
        picked = st.selectbox("Run", range(len(runs)), format_func=names.__getitem__, key=f"{key}_run")
        chosen = runs[int(picked or 0)]
    script, reason = _script(chosen)
    if script is None:
        st.info(f"No script for this run: {reason}.", icon=":material/code_off:")
        return
    st.download_button(
        "Download the script (.py)", data=script, file_name=script_file_name(chosen), mime=PYTHON_MIME,
        key=f"{key}_download", icon=":material/download:",
    )
    st.code(script, language="python", line_numbers=True)
