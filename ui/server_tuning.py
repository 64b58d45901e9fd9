"""Two Streamlit defaults that cost a DL Lab server time on every script run, switched off.

Both run after each script run, in the script thread, holding the GIL while the browser waits
for the "script finished" message:

- ``runner.postScriptGC`` (a full ``gc.collect(2)``) is off in ``.streamlit/config.toml``.
- Streamlit also calls ``keras.backend.clear_session()`` once Keras is imported
  (``script_runner._clean_problem_modules``), which is another full collection: together
  ~0.3 s per run here once TensorFlow and a few models are loaded. It is also a race on a
  shared server, since it resets Keras's global state under another session that may be
  building a model at that moment. DL Lab fits on Dask workers (:mod:`core.training.executor`);
  what the server itself builds with Keras (loaded models in a bounded cache, the "Verify with
  Keras" checks, the transfer page's feature pass) needs no reset between script runs, and a
  fit kept in the server (``DLLAB_WORKERS=0``) clears the session itself before it starts.
  :func:`keep_keras_session` turns the hook off and leaves matplotlib's part of it.
"""

from __future__ import annotations

import sys
from typing import Any


def keep_keras_session() -> None:
    """Stop Streamlit clearing the Keras session after every script run (idempotent)."""
    from streamlit.runtime.scriptrunner import script_runner

    original = getattr(script_runner, "_clean_problem_modules", None)
    if original is None or getattr(original, "keeps_keras_session", False):
        return  # a Streamlit without the hook, or already replaced

    def close_matplotlib_figures_only() -> None:
        pyplot: Any = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close("all")

    close_matplotlib_figures_only.keeps_keras_session = True  # type: ignore[attr-defined]
    script_runner._clean_problem_modules = close_matplotlib_figures_only
