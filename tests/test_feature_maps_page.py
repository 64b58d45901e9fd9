"""AppTest of the cats-vs-dogs feature-map page: fallback banner, model table, tiny training, bad inputs."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from conftest import app_test

PAGE = "app_pages/feature_maps.py"


def _errors(at) -> list[str]:
    return [element.value for element in at.error]


def test_renders_fallback_with_the_seed_model_table() -> None:
    at = app_test(PAGE)
    assert not at.exception and not _errors(at)
    assert any("Offline fallback" in warning.value for warning in at.warning)
    at.select_slider(key="fm_size").set_value(200).run()
    assert any("4,737,473 parameters" in caption.value for caption in at.caption)
    at.slider(key="fm_epochs").set_value(3).run()
    assert not at.exception


def test_tiny_training_shows_accuracy_feature_maps_and_filters() -> None:
    at = app_test(PAGE, timeout=240)
    at.select_slider(key="fm_size").set_value(48).run()
    at.slider(key="fm_epochs").set_value(1).run()
    at.button(key="fm_train").click().run()
    assert not at.exception and not _errors(at)
    assert at.metric[0].label == "Test accuracy"
    downloads = {button.key for button in at.get("download_button")}
    assert {"fm_download_layers", "fm_download_model", "fm_download_filters"} <= downloads
    assert len([key for key in downloads if key not in {"fm_download_layers", "fm_download_model", "fm_download_filters"}]) == 2
    at.slider(key="fm_image").set_value(3).run()
    assert not at.exception
    at.file_uploader(key="fm_upload").upload("cat.jpg", b"\xff\xd8\xff truncated", "image/jpeg").run()
    assert not at.exception and any("cat.jpg" in message for message in _errors(at))


def test_folder_with_three_classes_is_refused(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        for index in range(5):
            buffer = io.BytesIO()
            Image.new("L", (10, 10), index * 40).save(buffer, format="PNG")
            (tmp_path / name / f"{index}.png").write_bytes(buffer.getvalue())
    at = app_test(PAGE)
    at.radio(key="fm_source").set_value("folder").run()
    at.text_input(key="fm_folder").set_value(str(tmp_path)).run()
    assert not at.exception and any("binary" in message for message in _errors(at))


def _linked(query: dict[str, str]):
    """The page opened from a link carrying ``query``, set before the page's first run as a browser would."""
    from streamlit.testing.v1 import AppTest

    from conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.query_params.update(query)
    at.switch_page(PAGE).run()
    assert not at.exception and not _errors(at)
    return at


def test_a_link_restores_the_settings_and_the_layer_table_is_downloadable() -> None:
    at = _linked({"fm_size": "200", "fm_epochs": "3", "fm_batch": "16", "fm_lr": "0.003"})
    assert at.select_slider(key="fm_size").value == 200
    assert at.slider(key="fm_epochs").value == 3
    assert at.select_slider(key="fm_batch").value == 16
    assert at.select_slider(key="fm_lr").value == 3e-3
    assert any("4,737,473 parameters" in caption.value for caption in at.caption)
    assert [button.key for button in at.get("download_button")] == ["fm_download_layers"]
    assert len(at.toast) == 0


def test_a_bad_link_value_falls_back_to_the_default_with_a_notice() -> None:
    at = _linked({"fm_size": "65", "fm_source": "nowhere", "fm_epochs": "2"})
    assert at.select_slider(key="fm_size").value == 64
    assert at.radio(key="fm_source").value == "builtin"
    assert at.slider(key="fm_epochs").value == 2
    notices = " ".join(toast.value for toast in at.toast)
    assert "fm_size" in notices and "fm_source" in notices
    assert at.query_params["fm_size"] == "64"
