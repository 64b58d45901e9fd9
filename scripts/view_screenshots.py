"""Screenshots of the views that open on a click: ``python scripts/view_screenshots.py --cache-dir WARM``.

The README shows each "look inside" view: the code behind a run, the arithmetic behind one
feature-map value, a confusion cell's examples and the calculator's Keras measurement. None of
them is on screen when a page opens, so :mod:`scripts.screenshots` cannot take them; this script
opens the page in Chromium, clicks what a student would click, and saves the window with the view
at its top. Use a cache warmed by ``python -m ui.prewarm`` (same ``DLLAB_CACHE_DIR``), so the
training pages open on finished runs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from scripts.browser import (  # noqa: E402
    browser_unavailable_reason,
    chromium,
    new_page,
    open_app_page,
    screenshot,
    streamlit_server,
    wait_until_idle,
)
from scripts.screenshots import DEFAULT_OUT, shrink_png  # noqa: E402

# Measuring in Keras and writing a script read models and start processes: minutes on a busy machine.
SLOW_MS = 300_000


@dataclass(frozen=True)
class View:
    """One view: its page, what to click to open it, and the text the shot starts at."""

    name: str
    page: str
    open: Callable[[object], None]
    top: str


def _click_text(text: str, *, then_wait_for: str) -> Callable[[object], None]:
    def open_view(page) -> None:  # a Playwright Page
        button = page.get_by_role("button", name=text)
        (button if button.count() else page.get_by_text(text, exact=True)).first.click()
        page.get_by_text(then_wait_for).first.wait_for(timeout=SLOW_MS)
        wait_until_idle(page, timeout_ms=SLOW_MS)

    return open_view


def _nothing(page) -> None:
    del page


VIEWS = (
    View("view_code", "app_pages/sequence_models.py", _click_text("Show the code", then_wait_for="Download the script (.py)"), "Show the code"),
    View(
        "view_conv_arithmetic", "app_pages/feature_maps.py",
        _click_text("Show the arithmetic behind one value", then_wait_for="products"), "Show the arithmetic behind one value",
    ),
    View("view_confusion_cell", "app_pages/sequence_models.py", _nothing, "Confusion matrices"),
    View(
        "view_measure_keras", "app_pages/cnn_calculator.py",
        _click_text("Measure in Keras", then_wait_for="One prediction: measured growth"), "Measure in Keras",
    ),
)


def _scroll_to(page, text: str) -> None:
    """Put the first element showing ``text`` at the top of Streamlit's scrolling main area."""
    page.get_by_text(text, exact=True).first.evaluate("element => element.scrollIntoView({block: 'start'})")
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")


def main(argv: list[str] | None = None) -> int:
    """Take one shot per view; exit 1 if any view could not be opened."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, required=True, help="a cache warmed by python -m ui.prewarm")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNGs (default docs/screenshots)")
    parser.add_argument("--max-kb", type=int, default=300, help="size limit of each PNG in kB (default 300)")
    parser.add_argument("--only", nargs="+", metavar="VIEW", help="names of the views to capture")
    args = parser.parse_args(argv)
    reason = browser_unavailable_reason()
    if reason:
        print(f"Cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    views = [view for view in VIEWS if not args.only or view.name in args.only]
    failures = 0
    args.out.mkdir(parents=True, exist_ok=True)
    env = {"DLLAB_CACHE_DIR": str(args.cache_dir.resolve())}
    with tempfile.TemporaryDirectory() as scratch, streamlit_server(env=env) as server, chromium() as browser:
        for view in views:
            page = new_page(browser, viewport={"width": 1400, "height": 1000}, timeout_ms=SLOW_MS)
            try:
                visit = open_app_page(page, server.url_for(view.page), timeout_ms=SLOW_MS)
                view.open(page)
                _scroll_to(page, view.top)
                raw = screenshot(page, Path(scratch) / f"{view.name}.png", full_page=False)
                size = shrink_png(raw, args.out / f"{view.name}.png", max_bytes=args.max_kb * 1000)
                problems = visit.problems
                failures += bool(problems)
                print(f"{view.name:24s} {size / 1000:6.0f} kB  {'ok' if not problems else 'ERROR ON PAGE: ' + problems[0][:200]}")
            except Exception as error:  # noqa: BLE001 - report the view and carry on with the others
                failures += 1
                failed = screenshot(page, Path(scratch) / f"{view.name}-failed.png")
                shrink_png(failed, args.out / f"{view.name}-FAILED.png", max_bytes=args.max_kb * 1000)
                print(f"{view.name:24s} FAILED: {type(error).__name__}: {str(error)[:300]} (page as it was: {view.name}-FAILED.png)")
            finally:
                page.context.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
