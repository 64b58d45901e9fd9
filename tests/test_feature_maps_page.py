"""AppTest of the cats-vs-dogs feature-map page: fallback banner, model table, tiny training, bad inputs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from conftest import app_test

PAGE = "app_pages/feature_maps.py"


def _errors(at) -> list[str]:
    return [element.value for element in at.error]


def test_renders_fallback_with_the_homework_model_table() -> None:
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
    at.toggle(key="fm_arith_on").set_value(True).run()
    assert not at.exception and any("the value the layer itself produced here" in block.value for block in at.markdown)
    at.file_uploader(key="fm_upload").upload("cat.jpg", b"\xff\xd8\xff truncated", "image/jpeg").run()
    assert not at.exception and any("cat.jpg" in message for message in _errors(at))


def _class_folder(root: Path, classes: tuple[str, ...], images: int = 5) -> Path:
    for name in classes:
        (root / name).mkdir(parents=True)
        for index in range(images):
            buffer = io.BytesIO()
            Image.new("L", (10, 10), index * 40).save(buffer, format="PNG")
            (root / name / f"{index}.png").write_bytes(buffer.getvalue())
    return root


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("DLLAB_DATA_DIR", str(root))
    return root


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every folder the image loader lists, so a test can prove an outside folder was never walked."""
    from core.datasets import images

    seen: list[Path] = []
    original = images.scan_image_folder

    def spy(root, **options):
        seen.append(Path(root))
        return original(root, **options)

    monkeypatch.setattr(images, "scan_image_folder", spy)
    return seen


def test_folder_with_three_classes_is_refused_and_a_changed_folder_is_reread(data_dir: Path) -> None:
    _class_folder(data_dir / "pets", ("a", "b"))
    at = app_test(PAGE)
    at.radio(key="fm_source").set_value("folder").run()
    assert at.selectbox(key="fm_folder").options == ["pets"]
    assert not at.exception and not _errors(at)
    assert any("parameters" in caption.value for caption in at.caption)  # the folder loaded: the model table shows
    _class_folder(data_dir / "pets", ("c",))
    at.run()
    assert not at.exception and any("binary" in message for message in _errors(at))


def test_without_a_data_directory_the_folder_option_says_how_to_set_one(scanned: list[Path]) -> None:
    at = app_test(PAGE)
    at.radio(key="fm_source").set_value("folder").run()
    assert not at.exception and not _errors(at)
    assert any("DLLAB_DATA_DIR" in info.value for info in at.info)
    assert len(at.selectbox) == 0 and len(at.text_input) == 0 and not scanned


def test_a_symlink_out_of_the_data_directory_is_refused_unwalked(
    tmp_path: Path, data_dir: Path, scanned: list[Path]
) -> None:
    outside = _class_folder(tmp_path / "outside", ("a", "b"))
    (data_dir / "escape").symlink_to(outside, target_is_directory=True)
    at = app_test(PAGE)
    at.radio(key="fm_source").set_value("folder").run()
    at.selectbox(key="fm_folder").set_value("escape").run()
    assert not at.exception
    assert any("not a folder inside the data directory" in message for message in _errors(at))
    assert not scanned


@pytest.mark.parametrize("folder", ["/etc", "../..", "..%2F..%2Fetc"])
def test_a_link_naming_an_outside_folder_walks_nothing(
    data_dir: Path, scanned: list[Path], folder: str
) -> None:
    _class_folder(data_dir / "pets", ("a", "b"))
    at = _linked({"fm_source": "folder", "fm_folder": folder})
    assert at.selectbox(key="fm_folder").value == "pets"
    assert "fm_folder" in " ".join(toast.value for toast in at.toast)
    assert scanned and all(path.resolve().is_relative_to(data_dir) for path in scanned)


def test_an_unexpected_training_failure_is_an_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.training.executor

    def broken(*args, **kwargs):
        raise RuntimeError("out of file handles")

    monkeypatch.setattr(core.training.executor.Executor, "submit", broken)
    at = app_test(PAGE)
    at.select_slider(key="fm_size").set_value(48).run()
    at.button(key="fm_train").click().run()
    assert not at.exception
    assert _errors(at) == ["Training CS-577 Homework 4's CNN failed: out of file handles"]


def _linked(query: dict[str, str]):
    """The page opened from a link carrying ``query``, set before the page's first run as a browser would."""
    at = app_test(PAGE, query=query)
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


def test_a_cached_run_reopens_its_feature_maps_and_filters_without_tensorflow() -> None:
    from conftest import run_in_a_fresh_process

    def tiny(at):
        at.select_slider(key="fm_size").set_value(48).run()
        at.slider(key="fm_epochs").set_value(1).run()
        return at

    at = tiny(app_test(PAGE, timeout=240))
    at.button(key="fm_train").click().run()
    verdict = [block.value for block in at.markdown if block.value.startswith("P(")]
    assert not at.exception and verdict

    stdout = run_in_a_fresh_process(f"""
        from conftest import app_test
        at = app_test({PAGE!r})
        at.select_slider(key="fm_size").set_value(48).run()
        at.slider(key="fm_epochs").set_value(1).run()
        assert not at.exception, at.exception
        print("SUBHEADERS", [header.value for header in at.subheader])
        print("VERDICT", [block.value for block in at.markdown if block.value.startswith("P(")])
    """)
    assert "HEAVY []" in stdout and f"VERDICT {verdict}" in stdout, stdout
    assert "'Feature maps'" in stdout and "'First-layer filters'" in stdout
