"""Shared fixtures: every test gets its own empty cache, no data directory and no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()

# Keep TensorFlow quiet and single-process friendly before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache directory and Keras home, no data directory, and downloads switched off."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("DLLAB_CACHE_DIR", str(cache))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
    monkeypatch.setenv("DLLAB_OFFLINE", "1")
    monkeypatch.delenv("DLLAB_DATA_DIR", raising=False)
    monkeypatch.chdir(ROOT)
    return cache


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip on a user's fresh clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not present at {SHARED_DATA} (only developers and CI have them)")
    return SHARED_DATA


def app_test(page: str | None = None, *, timeout: float = 60, query: dict[str, str] | None = None):
    """An AppTest of the whole app (router and sidebar included), switched to ``page`` and run.

    ``query`` opens the page from a pasted link: the query is set before the page's first run,
    as a browser following the link would.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    if query:
        at.query_params.update(query)
    if page is not None:
        at.switch_page(page)
        at.run()
    return at
