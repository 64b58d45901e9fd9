"""Shareable links: a page's widgets restore from the URL, write back to it, and survive bad links."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

SCRIPT = '''
import streamlit as st

from ui.shareable import (
    share_link, shared_checkbox, shared_multiselect, shared_number, shared_radio,
    shared_select_slider, shared_selectbox, shared_slider, shared_toggle,
)

cell = shared_selectbox("Cell", ["simple_rnn", "lstm", "gru"], key="cell", default="lstm")
units = shared_slider("Units", 8, 256, key="units", default=64, step=8)
dropout = shared_slider("Dropout", 0.0, 0.9, key="dropout", default=0.2, step=0.1)
rate = shared_select_slider("Learning rate", [1e-4, 1e-3, 1e-2], key="lr", default=1e-3)
models = shared_multiselect("Models", ["rnn", "lstm", "gru"], key="models", default=["rnn"])
batch = shared_number("Batch", key="batch", default=64, min_value=1, max_value=1024)
padding = shared_radio("Padding", ["valid", "same"], key="padding")
bidirectional = shared_checkbox("Bidirectional", key="bidirectional")
augment = shared_toggle("Augment", key="augment", default=True)
st.session_state["seen"] = dict(
    cell=cell, units=units, dropout=dropout, lr=rate, models=models, batch=batch,
    padding=padding, bidirectional=bidirectional, augment=augment,
)
share_link()
'''

DEFAULTS = dict(
    cell="lstm", units=64, dropout=0.2, lr=1e-3, models=["rnn"], batch=64,
    padding="valid", bidirectional=False, augment=True,
)
DEFAULT_QUERY = dict(
    cell="lstm", units="64", dropout="0.2", lr="0.001", models="rnn", batch="64",
    padding="valid", bidirectional="false", augment="true",
)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "shareable_demo.py"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def _run(script: Path, query: dict[str, str] | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(script), default_timeout=30)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_plain_visit_starts_at_the_defaults_and_writes_them_to_the_url(script) -> None:
    at = _run(script)
    assert at.session_state["seen"] == DEFAULTS
    assert at.query_params == DEFAULT_QUERY
    assert len(at.toast) == 0


def test_a_link_restores_every_widget(script) -> None:
    query = dict(
        cell="gru", units="128", dropout="0.5", lr="0.01", models="gru,rnn", batch="256",
        padding="same", bidirectional="true", augment="0",
    )
    at = _run(script, query)
    assert at.session_state["seen"] == dict(
        cell="gru", units=128, dropout=0.5, lr=0.01, models=["gru", "rnn"], batch=256,
        padding="same", bidirectional=True, augment=False,
    )
    assert at.selectbox(key="cell").value == "gru"
    assert at.slider(key="units").value == 128
    assert len(at.toast) == 0
    assert at.query_params["augment"] == "false"  # written back in the canonical spelling


def test_moving_a_widget_updates_the_url_and_the_link_does_not_undo_it(script) -> None:
    at = _run(script, dict(units="128"))
    at.slider(key="units").set_value(200).run()
    at.selectbox(key="cell").set_value("simple_rnn").run()
    at.multiselect(key="models").select("lstm").run()
    assert at.query_params["units"] == "200"
    assert at.query_params["cell"] == "simple_rnn"
    assert at.query_params["models"] == "rnn,lstm"
    assert at.session_state["seen"]["units"] == 200
    at.multiselect(key="models").unselect("rnn").unselect("lstm").run()
    assert at.query_params["models"] == ""


def test_bad_and_stale_values_fall_back_to_defaults_with_a_notice_naming_each(script) -> None:
    query = dict(
        cell="transformer", units="12", dropout="nan", lr="0.5", models="lstm,bert",
        batch="-3", padding="same", bidirectional="perhaps",
    )
    at = _run(script, query)
    seen = at.session_state["seen"]
    assert seen == {**DEFAULTS, "padding": "same"}  # the one good value is still restored
    notices = " ".join(toast.value for toast in at.toast)
    for key in ("cell", "units", "dropout", "lr", "models", "batch", "bidirectional"):
        assert f"`{key}=" in notices
    assert "padding=" not in notices
    assert "transformer' is not one of the choices" in notices
    assert at.query_params == {**DEFAULT_QUERY, "padding": "same"}
    at.slider(key="units").set_value(16).run()
    assert len(at.toast) == 0  # a notice is shown once, not on every rerun
    assert not at.error


def test_share_link_shows_the_page_address_with_its_settings(script) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(script), default_timeout=30)
    at.context["url"] = "http://localhost:8501/shareable_demo"
    at.query_params.update(units="128")
    at.run()
    assert not at.exception
    link = urlsplit(at.code[0].value)
    assert (link.scheme, link.netloc, link.path) == ("http", "localhost:8501", "/shareable_demo")
    assert dict(parse_qsl(link.query, keep_blank_values=True)) == {**DEFAULT_QUERY, "units": "128"}


def test_share_link_shows_nothing_without_a_browser_address(script) -> None:
    at = _run(script)
    assert len(at.code) == 0


def test_a_value_left_by_another_pages_widget_with_the_same_key_is_replaced(script) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(script), default_timeout=30)
    at.session_state["units"] = 50  # e.g. a calculator's batch size: not on this slider's steps of 8
    at.session_state["cell"] = "lstm"  # valid here, so it is kept
    at.query_params.update(units="128", cell="gru")
    at.run()
    assert not at.exception
    assert at.session_state["seen"]["units"] == 128
    assert at.session_state["seen"]["cell"] == "lstm"
