"""The router, the home page and the shared sidebar."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, app_test
from ui.catalog import TOPIC_PAGES


def test_home_page_renders_and_links_every_topic_page() -> None:
    at = app_test()
    assert not at.exception
    assert at.title[0].value == "DL Lab"
    for topic in TOPIC_PAGES:
        assert (ROOT / topic.path).is_file()


def test_sidebar_reports_offline_defaults_and_cache(isolated_environment) -> None:
    at = app_test()
    sidebar_text = " ".join(element.value for element in at.sidebar.info)
    assert "No data directory set" in sidebar_text
    assert str(isolated_environment) in " ".join(text.value for text in at.sidebar.markdown)


def test_sidebar_lists_data_directory_contents(tmp_path, monkeypatch) -> None:
    (tmp_path / "mnist.npz").write_bytes(b"")
    (tmp_path / "fsdd").mkdir()
    monkeypatch.setenv("DLLAB_DATA_DIR", str(tmp_path))
    at = app_test()
    listed = " ".join(element.value for element in at.sidebar.markdown)
    assert "mnist.npz" in listed and "fsdd/" in listed


def test_clear_cache_button_empties_the_cache(isolated_environment) -> None:
    (isolated_environment / "runs" / "abc").mkdir(parents=True)
    (isolated_environment / "runs" / "abc" / "result.json").write_text("{}")
    at = app_test()
    at.button(key="clear_cache").click().run()
    assert not at.exception
    assert not (isolated_environment / "runs").exists()


def test_light_pages_do_not_import_tensorflow() -> None:
    """The home page and the calculator must load without the ~5 s TensorFlow import."""
    pages = ["app_pages/home.py"] + [page for page in ("app_pages/cnn_calculator.py", "app_pages/rnn_dimensions.py") if (ROOT / page).is_file()]
    script = f"""
import sys
sys.path.insert(0, {str(ROOT / 'tests')!r})
from conftest import app_test
at = app_test()
for page in {pages!r}:
    at.switch_page(page)
    at.run()
    assert not at.exception, (page, at.exception)
heavy = sorted(name for name in ("tensorflow", "keras") if name in sys.modules)
print("HEAVY", heavy)
"""
    completed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "HEAVY []" in completed.stdout, completed.stdout


def test_paths_show_as_inline_code_whatever_backticks_they_hold() -> None:
    from ui.widgets import inline_code

    assert inline_code("/srv/dllab cache") == "`/srv/dllab cache`"
    assert inline_code("a`b") == "``a`b``"
    assert inline_code("`x") == "`` `x ``"


@pytest.mark.slow
def test_script_runs_leave_the_keras_session_alone() -> None:
    # Streamlit would clear the Keras session after every run: a full garbage collection that
    # held each page up ~0.15 s, and a reset under other sessions building models.
    import keras

    def number(name: str) -> int:  # dense → 0, dense_7 → 7
        return int(name.rpartition("_")[2]) if "_" in name else 0

    first = keras.layers.Dense(1).name
    at = app_test()
    at.run()
    assert not at.exception
    following = keras.layers.Dense(1).name
    assert number(following) == number(first) + 1, f"the Keras name counter was reset: {first} → {following}"
