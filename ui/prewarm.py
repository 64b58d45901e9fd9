"""Pre-warm the cache before class: ``python -m ui.prewarm`` trains every page's default settings.

It opens each training page exactly as a student would (through ``app.py``, with the same
``DLLAB_DATA_DIR`` and ``DLLAB_CACHE_DIR``) and clicks its train button, so the cache keys are
the ones the pages compute themselves and cannot drift from them. Afterwards every page shows
its default results at once, with no training. A page that is already warm costs a second.

This lives beside the pages rather than in ``core`` because it drives Streamlit pages.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core import settings
from core.training import TrainingProgress, progress_listener
from ui.catalog import TOPIC_PAGES, TopicPage

APP = Path(__file__).resolve().parents[1] / "app.py"
BAR_WIDTH = 28


@dataclass(frozen=True)
class PrewarmOutcome:
    """What pre-warming one page did."""

    page: str
    status: str  # "trained", "already cached" or "failed"
    seconds: float
    detail: str = ""


class TerminalBar:
    """One self-overwriting progress line on a terminal, or a line every few seconds in a log."""

    def __init__(self, title: str, stream=sys.stdout) -> None:
        self.title = title
        self.stream = stream
        self.interactive = stream.isatty()
        self.trained = False
        self._last_line = 0.0

    def __call__(self, progress: TrainingProgress) -> None:
        if progress.message != "Loaded from cache":
            self.trained = True
        now = time.monotonic()
        if not self.interactive and now - self._last_line < 5 and progress.fraction < 1:
            return
        self._last_line = now
        filled = round(BAR_WIDTH * min(max(progress.fraction, 0.0), 1.0))
        line = f"{self.title[:24]:<24} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {progress.fraction:4.0%} {progress.message[:60]}"
        if self.interactive:
            self.stream.write("\r\033[K" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")
            self.stream.flush()


def prewarm_page(topic: TopicPage, *, timeout_seconds: float = 3600) -> PrewarmOutcome:
    """Open one page with its default settings, click its train button and wait for the results."""
    from streamlit.testing.v1 import AppTest

    started = time.perf_counter()
    bar = TerminalBar(topic.title)
    app = AppTest.from_file(str(APP), default_timeout=timeout_seconds)
    app.run()
    app.switch_page(topic.path)
    app.run()
    problem = _problem(app)
    if problem is None:
        button = app.button(key=topic.train_button)
        if button.disabled:
            return PrewarmOutcome(topic.title, "already cached", time.perf_counter() - started)
        with progress_listener(bar):
            button.click().run()
        bar.finish()
        problem = _problem(app)
    seconds = time.perf_counter() - started
    if problem is not None:
        return PrewarmOutcome(topic.title, "failed", seconds, problem)
    return PrewarmOutcome(topic.title, "trained" if bar.trained else "already cached", seconds)


def _problem(app: object) -> str | None:
    if app.exception:
        return app.exception[0].message
    if app.error:
        return app.error[0].value
    return None


def prewarm(pages: list[TopicPage] | None = None) -> list[PrewarmOutcome]:
    """Pre-warm ``pages`` (every page that trains, by default) one after another."""
    chosen = pages if pages is not None else [topic for topic in TOPIC_PAGES if topic.train_button]
    outcomes = []
    for position, topic in enumerate(chosen, start=1):
        print(f"[{position}/{len(chosen)}] {topic.title}", flush=True)
        outcome = prewarm_page(topic)
        print(f"    {outcome.status} in {outcome.seconds:.1f} s {outcome.detail}".rstrip(), flush=True)
        outcomes.append(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; exits non-zero if any page failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", action="append", help="only this page title (repeatable)")
    args = parser.parse_args(argv)
    pages = [topic for topic in TOPIC_PAGES if topic.train_button]
    if args.page:
        pages = [topic for topic in pages if topic.title in args.page]
        if not pages:
            parser.error(f"no training page is called {args.page}")
    data_dir = settings.data_dir()
    print(f"Data directory: {data_dir or 'none (offline defaults)'}; cache: {settings.cache_dir()}")
    started = time.perf_counter()
    outcomes = prewarm(pages)
    total = time.perf_counter() - started
    print(f"\n{'page':<28} {'status':<15} {'seconds':>8}")
    for outcome in outcomes:
        print(f"{outcome.page:<28} {outcome.status:<15} {outcome.seconds:>8.1f}")
    print(f"{'total':<28} {'':<15} {total:>8.1f}")
    for outcome in outcomes:
        if outcome.status == "failed":
            print(f"\n{outcome.page} failed: {outcome.detail}", file=sys.stderr)
    return 1 if any(outcome.status == "failed" for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
