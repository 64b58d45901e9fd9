"""AppTest of the transfer-learning page: offline demo, controls, a tiny training, bad uploads."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from conftest import app_test
from core.transfer import MODES, NOTOP_WEIGHTS_FILE, PREFETCH_COMMAND

PAGE = "app_pages/transfer_learning.py"
FOLDER = "folder"
ZIP = "zip"


def _errors(at) -> list[str]:
    return [element.value for element in at.error]


def test_renders_offline_demo_and_controls_rerun() -> None:
    at = app_test(PAGE)
    assert not at.exception and not _errors(at)
    assert any("source task" in element.value for element in at.info)
    at.slider(key="tl_per_class").set_value(4).run()
    at.slider(key="tl_epochs").set_value(2).run()
    at.toggle(key="tl_flip").set_value(True).run()
    assert any("cannot be cached" in element.value for element in at.info)
    at.multiselect(key="tl_modes").set_value(["feature_extraction"]).run()
    assert not at.exception and not _errors(at)


def test_tiny_training_shows_the_comparison_then_comes_from_cache(digits_source) -> None:
    at = app_test(PAGE, timeout=240)
    at.slider(key="tl_per_class").set_value(3).run()
    at.slider(key="tl_epochs").set_value(2).run()
    at.multiselect(key="tl_modes").set_value(["feature_extraction", "from_scratch"]).run()
    at.button(key="tl_train").click().run()
    assert not at.exception and not _errors(at)
    assert any(text.value.startswith("**Frozen transfer reached") for text in at.markdown)
    assert len(at.dataframe) >= 1  # the results (the memory table waits for its expander)
    downloads = {button.key: button.label for button in at.get("download_button")}
    assert set(downloads) == {
        "tl_download_results", "tl_download_feature_extraction", "tl_download_from_scratch", "tl_download_source",
    }  # the memory estimate is drawn only when its expander is opened (nothing was refused here)
    at.session_state["tl_memory_open"] = True
    at.run()
    assert "tl_download_memory" in {button.key for button in at.get("download_button")}
    assert any("RAM available now" in caption.value for caption in at.caption)
    assert "dense head only" in downloads["tl_download_feature_extraction"]
    at.selectbox(key="tl_inspect").set_value("from_scratch").run()
    # A rerun without clicking finds the runs in the cache.
    at.slider(key="tl_epochs").set_value(2).run()
    assert any(text.value.startswith("**Frozen transfer reached") for text in at.markdown)
    at.file_uploader(key="tl_predict").upload("photo.png", b"this is not an image", "image/png").run()
    assert not at.exception and any("photo.png" in message for message in _errors(at))
    # With augmentation, feature extraction runs the base every epoch; the page shows what that costs.
    at.multiselect(key="tl_modes").set_value(["feature_extraction"]).run()
    at.toggle(key="tl_rotation").set_value(True).run()
    at.button(key="tl_train").click().run()
    assert not at.exception
    assert any("The cost of augmentation" in text.value for text in at.markdown)


def test_folder_and_zip_problems_show_errors() -> None:
    at = app_test(PAGE)
    at.radio(key="tl_source").set_value(FOLDER).run()
    assert not at.exception
    assert any(NOTOP_WEIGHTS_FILE in w.value and PREFETCH_COMMAND in w.value for w in at.warning)
    assert any("DLLAB_DATA_DIR" in info.value for info in at.info)  # no data directory: no folder to offer
    at.radio(key="tl_source").set_value(ZIP).run()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.png", b"x")
    at.file_uploader(key="tl_zip").upload("evil.zip", buffer.getvalue(), "application/zip").run()
    assert not at.exception and any("outside" in message for message in _errors(at))
    at.file_uploader(key="tl_weights").upload("vgg.h5", b"definitely not hdf5", "application/octet-stream").run()
    assert not at.exception and any("not an HDF5" in message for message in _errors(at))


def test_an_unexpected_training_failure_is_an_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.transfer

    def broken(*args, **kwargs):
        raise RuntimeError("out of file handles")

    monkeypatch.setattr(core.transfer, "train_source", broken)
    at = app_test(PAGE)
    at.button(key="tl_train").click().run()
    assert not at.exception
    # The source CNN is every mode's base, so its failure is one box naming all three.
    modes = ", ".join(core.transfer.MODE_LABELS.values())
    assert _errors(at) == [f"Training {modes} failed: out of file handles"]
    assert not at.button(key="tl_train").disabled  # nothing trained: the button is there to try again


def _class_folder(root: Path, classes: tuple[str, ...], images: int = 5) -> Path:
    for name in classes:
        (root / name).mkdir(parents=True)
        for index in range(images):
            buffer = io.BytesIO()
            Image.new("RGB", (10, 10), (index * 40, 0, 0)).save(buffer, format="PNG")
            (root / name / f"{index}.png").write_bytes(buffer.getvalue())
    return root


def test_only_data_directory_folders_are_offered_and_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.datasets import images

    data_dir = tmp_path / "data"
    _class_folder(data_dir / "shapes", ("round", "square"))
    _class_folder(tmp_path / "outside", ("a", "b"))
    (data_dir / "escape").symlink_to(tmp_path / "outside", target_is_directory=True)
    monkeypatch.setenv("DLLAB_DATA_DIR", str(data_dir))
    scanned: list[Path] = []
    original = images.scan_image_folder
    monkeypatch.setattr(images, "scan_image_folder", lambda root, **options: scanned.append(Path(root)) or original(root, **options))

    at = _linked({"tl_source": "folder", "tl_folder": "/etc"}, allow_errors=True)
    assert at.selectbox(key="tl_folder").options == ["escape", "shapes"]
    assert at.selectbox(key="tl_folder").value == "escape"  # the link's /etc fell back to the first folder…
    assert "tl_folder" in " ".join(toast.value for toast in at.toast)
    assert any("not a folder inside the data directory" in message for message in _errors(at))  # …which is refused
    assert not scanned
    at.selectbox(key="tl_folder").set_value("shapes").run()
    assert not at.exception and not _errors(at)
    assert set(scanned) == {data_dir / "shapes"} and at.query_params["tl_folder"] == "shapes"
    assert any("round, square" in caption.value for caption in at.caption)


def _linked(query: dict[str, str], *, allow_errors: bool = False):
    """The page opened from a link carrying ``query``, set before the page's first run as a browser would."""
    at = app_test(PAGE, query=query)
    assert not at.exception and (allow_errors or not _errors(at))
    return at


def test_a_link_restores_the_settings() -> None:
    at = _linked({"tl_per_class": "4", "tl_modes": "fine_tune,from_scratch", "tl_epochs": "7", "tl_batch": "32", "tl_zoom": "true"})
    assert at.slider(key="tl_per_class").value == 4
    assert at.multiselect(key="tl_modes").value == ["fine_tune", "from_scratch"]
    assert at.slider(key="tl_epochs").value == 7
    assert at.select_slider(key="tl_batch").value == 32
    assert at.toggle(key="tl_zoom").value is True and at.toggle(key="tl_flip").value is False
    assert len(at.toast) == 0
    assert at.query_params["tl_source"] == "demo"

    folder = _linked({"tl_source": "folder", "tl_size": "96", "tl_val": "20"})
    assert folder.radio(key="tl_source").value == "folder"
    assert folder.select_slider(key="tl_size").value == 96 and folder.slider(key="tl_val").value == 20


def test_a_bad_link_value_falls_back_to_the_default_with_a_notice() -> None:
    at = _linked({"tl_per_class": "500", "tl_modes": "fine_tune,teleport", "tl_epochs": "3"})
    assert at.slider(key="tl_per_class").value == 10
    assert at.multiselect(key="tl_modes").value == list(MODES)
    assert at.slider(key="tl_epochs").value == 3
    notices = " ".join(toast.value for toast in at.toast)
    assert "tl_per_class" in notices and "tl_modes" in notices
    assert at.query_params["tl_per_class"] == "10"
