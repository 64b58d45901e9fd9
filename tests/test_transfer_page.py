"""AppTest of the transfer-learning page: offline demo, controls, a tiny training, bad uploads."""

from __future__ import annotations

import io
import zipfile

from conftest import app_test
from core.transfer import NOTOP_WEIGHTS_FILE, PREFETCH_COMMAND

PAGE = "app_pages/transfer_learning.py"
FOLDER = "Image folder on this machine"
ZIP = "Upload a .zip of class folders"


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


def test_tiny_training_shows_the_comparison_then_comes_from_cache() -> None:
    at = app_test(PAGE, timeout=240)
    at.slider(key="tl_per_class").set_value(3).run()
    at.slider(key="tl_epochs").set_value(2).run()
    at.multiselect(key="tl_modes").set_value(["feature_extraction", "from_scratch"]).run()
    at.button(key="tl_train").click().run()
    assert not at.exception and not _errors(at)
    assert any(text.value.startswith("**Frozen transfer reached") for text in at.markdown)
    assert len(at.dataframe) >= 2
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
    at.text_input(key="tl_folder").set_value("/no/such/folder").run()
    assert any("not a folder" in message for message in _errors(at))
    at.radio(key="tl_source").set_value(ZIP).run()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.png", b"x")
    at.file_uploader(key="tl_zip").upload("evil.zip", buffer.getvalue(), "application/zip").run()
    assert not at.exception and any("outside" in message for message in _errors(at))
    at.file_uploader(key="tl_weights").upload("vgg.h5", b"definitely not hdf5", "application/octet-stream").run()
    assert not at.exception and any("not an HDF5" in message for message in _errors(at))
