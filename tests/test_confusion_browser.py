"""In headless Chromium: clicking a confusion-matrix cell (or its count) shows that cell's examples and sets the lists.

AppTest cannot click a chart; this is the one check that a real click reaches the page.
"""

from __future__ import annotations

import pytest

from scripts.browser import browser_unavailable_reason, chromium, new_page, streamlit_server, wait_until_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _cell(page, view: int, true: str, predicted: str):
    """The rect of one cell in the ``view``-th matrix (Vega labels each mark with its fields)."""
    return page.locator("g.mark-rect.role-mark").nth(view).locator(f'path[aria-label^="predicted: {predicted}; true: {true};"]')


def _shows(page, text: str) -> None:
    page.get_by_text(text).wait_for(timeout=60_000)
    wait_until_idle(page)


def test_clicking_a_cell_shows_its_examples_and_sets_the_model_and_cell_lists() -> None:
    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with streamlit_server(("run", "tests/confusion_click_app.py")) as server, chromium() as browser:
        page = new_page(browser)
        page.goto(server.url)
        _shows(page, "True one, predicted as two")  # the first model's largest mistake, before any click

        _cell(page, 1, "zero", "one").click()  # model B's only zero-read-as-one
        _shows(page, "True zero, predicted as one")
        assert page.get_by_text("test #0").count() == 1
        model, cell = page.get_by_role("combobox", name="Model"), page.get_by_role("combobox", name="Cell (true → predicted)")
        assert model.input_value() == "B" and cell.input_value() == "true zero → predicted one (1 example)"

        # Choose another cell in the list, then click the first cell again: the click still counts.
        cell.click()
        page.get_by_role("option", name="true two → predicted one (1 example)").click()
        _shows(page, "True two, predicted as one")
        _cell(page, 1, "zero", "one").click()
        _shows(page, "True zero, predicted as one")

        # A click on the count printed over a cell selects that cell too; here in model A.
        box = _cell(page, 0, "zero", "zero").bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        _shows(page, "True zero, correctly classified")
        assert model.input_value() == "A" and cell.input_value() == "true zero → predicted zero (correct, 2 examples)"
        assert page.get_by_text("test #0").count() == 1 and page.get_by_text("test #6").count() == 1
        assert page.locator('[data-testid="stException"]').count() == 0
