"""Export: the downloaded .keras file reloads in safe mode with the same predictions; tables become safe CSV."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.cache import DiskCache
from core.datasets import load_dataset
from core.training import RunResult, TrainConfig, prepare_inputs, train
from ui.export import csv_bytes, model_bytes, model_file_name


CONFIG = TrainConfig(architecture="mlp", model_options=(("hidden_units", 16),), epochs=1, batch_size=64)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    cache_root = tmp_path_factory.mktemp("export_cache")
    return train(CONFIG, load_dataset("digits"), cache=DiskCache(cache_root)), cache_root


@pytest.mark.slow
def test_downloaded_model_reloads_in_safe_mode_with_identical_predictions(trained, tmp_path) -> None:
    import keras

    result, _ = trained
    downloaded = tmp_path / model_file_name(result)
    downloaded.write_bytes(model_bytes(result))
    reloaded = keras.models.load_model(downloaded, safe_mode=True)
    x_test = prepare_inputs(load_dataset("digits").x_test)
    predictions = reloaded.predict(x_test, verbose=0)
    np.testing.assert_array_equal(predictions.argmax(axis=1), result.predicted_labels)
    np.testing.assert_allclose(predictions, result.test_predictions, rtol=1e-5, atol=1e-6)
    original = keras.models.load_model(result.model_path, safe_mode=True)
    np.testing.assert_array_equal(original.predict(x_test, verbose=0), predictions)


def test_model_file_name_names_the_architecture_and_run(trained) -> None:
    result, _ = trained
    assert model_file_name(result) == f"dllab-mlp-{result.key[:8]}.keras"


def test_model_bytes_without_a_file_raises(trained) -> None:
    import dataclasses

    result, _ = trained
    with pytest.raises(FileNotFoundError, match="no saved model"):
        model_bytes(dataclasses.replace(result, model_path=None))


def test_csv_keeps_numbers_and_unicode_and_defuses_formulas() -> None:
    frame = pd.DataFrame(
        {
            "class": ["cat", "=HYPERLINK(\"http://x\")", "+1+2", "@SUM(A1)", "-cmd", "−5 °C", "-0.5"],
            "accuracy": [0.5, 0.25, 1.0, 0.0, 0.75, 0.125, -0.5],
        }
    )
    text = csv_bytes(frame).decode("utf-8")
    back = pd.read_csv(io.StringIO(text))
    assert list(back.columns) == ["class", "accuracy"]
    assert back["accuracy"].tolist() == frame["accuracy"].tolist()
    assert back["class"].tolist() == ["cat", "'=HYPERLINK(\"http://x\")", "'+1+2", "'@SUM(A1)", "'-cmd", "−5 °C", "-0.5"]


def test_csv_writes_the_index_only_when_it_is_named() -> None:
    plain = pd.DataFrame({"a": [1, 2]})
    assert csv_bytes(plain).decode().splitlines() == ["a", "1", "2"]
    named = plain.rename_axis("epoch")
    assert csv_bytes(named).decode().splitlines() == ["epoch,a", "0,1", "1,2"]


PAGE = '''
import pandas as pd
import streamlit as st

from core.cache import DiskCache
from core.datasets import load_dataset
from core.training import TrainConfig, train
from ui.export import download_csv_button, download_model_button

config = TrainConfig(architecture="mlp", model_options=(("hidden_units", 16),), epochs=1, batch_size=64)
result = train(config, load_dataset("digits"), cache=DiskCache({cache_root!r}))
st.session_state["from_cache"] = result.from_cache
download_model_button(result, key="model")
download_csv_button(pd.DataFrame([result.summary_row()]), "runs", key="table")
if st.checkbox("Lose the file", key="lose"):
    import dataclasses
    download_model_button(dataclasses.replace(result, model_path=None), key="gone")
'''


def test_buttons_render_on_a_page_from_the_cached_run(trained, tmp_path) -> None:
    from streamlit.testing.v1 import AppTest

    _, cache_root = trained
    script = tmp_path / "export_page.py"
    script.write_text(PAGE.format(cache_root=str(cache_root)), encoding="utf-8")
    at = AppTest.from_file(str(script), default_timeout=60)
    at.run()
    assert not at.exception
    assert at.session_state["from_cache"] is True  # the page reused the run, it did not retrain
    labels = [button.label for button in at.get("download_button")]
    assert labels == ["Download the trained model (.keras)", "Download as CSV"]
    at.checkbox(key="lose").check().run()
    assert not at.exception
    assert any("no longer in the cache" in caption.value for caption in at.caption)


BROWSER_PAGE = '''
import sys
sys.path.insert(0, {root!r})

import streamlit as st

from core.cache import DiskCache
from core.datasets import load_dataset
from core.training import TrainConfig, cached_result
from ui.export import download_model_button

config = TrainConfig(architecture="mlp", model_options=(("hidden_units", 16),), epochs=1, batch_size=64)
result = cached_result(config, load_dataset("digits"), cache=DiskCache({cache_root!r}))
st.title("Export")
download_model_button(result, key="model")
'''


@pytest.mark.slow
@pytest.mark.browser
def test_the_model_button_serves_the_file_in_a_real_browser(trained, tmp_path) -> None:
    import keras

    from scripts.browser import browser_unavailable_reason, chromium, new_page, open_app_page, streamlit_server
    from conftest import ROOT

    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    result, cache_root = trained
    script = tmp_path / "export_page.py"
    script.write_text(BROWSER_PAGE.format(root=str(ROOT), cache_root=str(cache_root)), encoding="utf-8")
    with streamlit_server(("run", str(script))) as server, chromium() as browser:
        page = new_page(browser, timeout_ms=120_000)
        visit = open_app_page(page, server.url, timeout_ms=120_000)
        assert visit.heading == "Export" and not visit.problems, visit.problems
        with page.expect_download() as download_info:
            page.get_by_role("button", name="Download the trained model (.keras)").click()
        download = download_info.value
        assert download.suggested_filename == model_file_name(result)
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        page.context.close()
    assert saved.read_bytes() == model_bytes(result)
    reloaded = keras.models.load_model(saved, safe_mode=True)
    predictions = reloaded.predict(prepare_inputs(load_dataset("digits").x_test), verbose=0)
    np.testing.assert_allclose(predictions, result.test_predictions, rtol=1e-5, atol=1e-6)
