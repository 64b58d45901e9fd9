"""The real app in headless Chromium: every page opens cleanly, and the calculator reacts to a widget.

One server and one browser serve the whole module; each page gets its own browser context, so
its own Streamlit session. Screenshots go to a temporary folder (or ``DLLAB_SCREENSHOT_DIR``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from scripts.browser import (
    MAIN,
    StreamlitServer,
    browser_unavailable_reason,
    chromium,
    new_page,
    open_app_page,
    page_problems,
    page_url_path,
    screenshot,
    streamlit_server,
    toasts_seen,
    wait_until_idle,
)
from ui.catalog import HOME, TOPIC_PAGES, TopicPage

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE_TIMEOUT_MS = 180_000  # a cold page on a busy two-core machine can take tens of seconds
CALCULATOR = "app_pages/cnn_calculator.py"
ALL_PAGES = (HOME, *TOPIC_PAGES)


@pytest.fixture(scope="module")
def server() -> Iterator[StreamlitServer]:
    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with streamlit_server() as running:
        yield running


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as running:
        # Open the app once at its root, as an instructor would before class; a deep link into a
        # server that has never run app.py is tested on its own below.
        warm_up = new_page(running, timeout_ms=PAGE_TIMEOUT_MS)
        open_app_page(warm_up, server.url_for(HOME.path, default=True), timeout_ms=PAGE_TIMEOUT_MS)
        warm_up.context.close()
        yield running


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("DLLAB_SCREENSHOT_DIR")
    return Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def landed() -> dict[str, str]:
    """The URL each page ended at (with the settings it wrote), so the link test need not reload it."""
    return {}


@pytest.fixture
def page(browser):
    page = new_page(browser, timeout_ms=PAGE_TIMEOUT_MS)
    yield page
    page.context.close()


def _url(server: StreamlitServer, topic: TopicPage) -> str:
    return server.url_for(topic.path, default=topic is HOME)


@pytest.mark.parametrize("topic", ALL_PAGES, ids=[page_url_path(topic.path) for topic in ALL_PAGES])
def test_page_opens_with_its_title_and_no_error(topic: TopicPage, server, page, screenshot_dir, landed) -> None:
    visit = open_app_page(page, _url(server, topic), timeout_ms=PAGE_TIMEOUT_MS)
    landed[topic.path] = page.url
    shot = screenshot(page, screenshot_dir / f"{page_url_path(topic.path)}.png")
    details = f"{visit.url}\nserver log:\n{server.log_tail()}"
    assert visit.nav_title == topic.title, details
    assert visit.heading, f"no title (h1) in the main area of {details}"
    assert not visit.problems, "\n".join(visit.problems) + "\n" + details
    assert shot.stat().st_size > 10_000  # a real rendering, not a blank page


def test_calculator_number_follows_the_batch_size(server, page) -> None:
    from playwright.sync_api import expect

    assert any(topic.path == CALCULATOR for topic in TOPIC_PAGES), f"{CALCULATOR} is not in ui.catalog.TOPIC_PAGES"
    open_app_page(page, server.url_for(CALCULATOR), timeout_ms=PAGE_TIMEOUT_MS)
    training = page.locator(f'{MAIN} [data-testid="stMetric"]').filter(has_text="Training RAM")
    expect(training).to_have_count(1)
    before = training.inner_text()

    batch = page.locator(".st-key-batch_size input")
    batch.fill("7")
    batch.press("Enter")
    expect(training).to_contain_text("batch 7", timeout=PAGE_TIMEOUT_MS)
    wait_until_idle(page, timeout_ms=PAGE_TIMEOUT_MS)
    after = training.inner_text()
    value_before, value_after = before.splitlines()[-1], after.splitlines()[-1]
    assert value_after != value_before, (before, after)
    assert not page_problems(page)

    chart = page.locator(f'{MAIN} [data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    chart.hover()  # the chart's toolbar, with its save button, appears on hover
    expect(page.get_by_role("button", name="Download as PNG").first).to_be_visible()


@pytest.mark.parametrize("topic", TOPIC_PAGES, ids=[page_url_path(topic.path) for topic in TOPIC_PAGES])
def test_page_link_reopens_the_same_settings_and_a_bad_value_falls_back(topic: TopicPage, server, browser, landed) -> None:
    """Every topic page keeps its widgets in the URL (``ui.shareable``): its link round-trips, a bad value is refused."""
    link = landed.get(topic.path)
    if link is None:  # this test was selected without the page-opening one
        first = new_page(browser, timeout_ms=PAGE_TIMEOUT_MS)
        try:
            open_app_page(first, _url(server, topic), timeout_ms=PAGE_TIMEOUT_MS)
            link = first.url
        finally:
            first.context.close()
    settings = dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
    # Every topic page keeps its settings in its link; a page that stops doing so fails here.
    assert settings, f"{topic.path} lost its URL state: the page's link carries no settings ({link})"

    again = new_page(browser, timeout_ms=PAGE_TIMEOUT_MS)
    try:
        visit = open_app_page(again, link, timeout_ms=PAGE_TIMEOUT_MS)
        assert not visit.problems, visit.problems
        assert dict(parse_qsl(urlsplit(again.url).query, keep_blank_values=True)) == settings
        assert not toasts_seen(again)
    finally:
        again.context.close()

    name = next(iter(settings))
    broken = link.split("?")[0] + "?" + urlencode({**settings, name: "not-a-valid-value"})
    bad = new_page(browser, timeout_ms=PAGE_TIMEOUT_MS)
    try:
        visit = open_app_page(bad, broken, timeout_ms=PAGE_TIMEOUT_MS)
        assert not visit.problems, visit.problems
        # The notice and the corrected URL come from the page's own script run; on a busy machine
        # they can land just after the page first looks settled, so wait for them, don't sample.
        expected = f"{name}=not-a-valid-value"
        bad.wait_for_function(
            "expected => (window.__dllabToasts || []).some(text => text.includes(expected))",
            arg=expected,
            timeout=PAGE_TIMEOUT_MS,
        )
        bad.wait_for_url(
            lambda url: dict(parse_qsl(urlsplit(url).query, keep_blank_values=True)).get(name) == settings[name],
            timeout=PAGE_TIMEOUT_MS,
        )
    finally:
        bad.context.close()


def test_a_deep_link_into_a_fresh_server_gets_the_router_and_sidebar(browser) -> None:
    """A shared link may be the first request a server ever gets; it must still get the router.

    (With a ``pages/`` folder beside ``app.py`` Streamlit's legacy multipage mode served it alone.)
    """
    topic = TOPIC_PAGES[0]
    # One Playwright instance per process: reuse the module's browser, but a brand-new server.
    with streamlit_server() as fresh:
        page = new_page(browser, timeout_ms=PAGE_TIMEOUT_MS)
        visit = open_app_page(page, fresh.url_for(topic.path), timeout_ms=PAGE_TIMEOUT_MS)
        assert not visit.problems, visit.problems
        assert visit.nav_title == topic.title
        assert page.locator('[data-testid="stSidebar"]').get_by_text("Data directory", exact=True).count() == 1
