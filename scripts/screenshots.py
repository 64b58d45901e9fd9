"""Refresh the README's screenshots: ``python scripts/screenshots.py`` writes ``docs/screenshots/<page>.png``.

It starts the app headless (temporary cache, no data directory, offline: what a fresh clone
shows, unless ``--data-dir`` says otherwise), opens every page of ``ui.catalog`` in Debian's
Chromium at 1400×900, and saves each whole page as a PNG reduced to 256 colours (and narrowed if
need be) so every file stays under ``--max-kb`` (300 kB by default).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from scripts.browser import (  # noqa: E402
    browser_unavailable_reason,
    chromium,
    new_page,
    open_app_page,
    page_url_path,
    screenshot,
    streamlit_server,
)
from ui.catalog import HOME, TOPIC_PAGES  # noqa: E402

DEFAULT_OUT = ROOT / "docs" / "screenshots"


def shrink_png(source: Path, target: Path, *, max_bytes: int) -> int:
    """Save ``source`` as a 256-colour PNG at ``target``, narrowing it in 15% steps until under ``max_bytes``."""
    from PIL import Image

    with Image.open(source) as original:
        image = original.convert("RGB")
    while True:
        reduced = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        reduced.save(target, format="PNG", optimize=True)
        size = target.stat().st_size
        if size <= max_bytes or image.width < 600:
            return size
        image = image.resize((int(image.width * 0.85), int(image.height * 0.85)), Image.Resampling.LANCZOS)


def main(argv: list[str] | None = None) -> int:
    """Take one screenshot per page; exit 1 if any page showed an error or could not be captured."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNGs (default docs/screenshots)")
    parser.add_argument("--data-dir", type=Path, help="serve real datasets from this folder instead of the offline defaults")
    parser.add_argument("--cache-dir", type=Path, help="use this (warm) cache so pages show trained results")
    parser.add_argument("--max-kb", type=int, default=300, help="size limit of each PNG in kB (default 300)")
    parser.add_argument("--only", nargs="+", metavar="PAGE", help="URL names of the pages to capture (e.g. cnn_calculator)")
    args = parser.parse_args(argv)

    reason = browser_unavailable_reason()
    if reason:
        print(f"Cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    env = {}
    if args.data_dir:
        env["DLLAB_DATA_DIR"] = str(args.data_dir.resolve())
    if args.cache_dir:
        env["DLLAB_CACHE_DIR"] = str(args.cache_dir.resolve())
    pages = [HOME, *TOPIC_PAGES]
    names = {topic.path: page_url_path(topic.path) for topic in pages}
    if args.only:
        pages = [topic for topic in pages if names[topic.path] in args.only]
    args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    with tempfile.TemporaryDirectory() as scratch, streamlit_server(env=env) as server, chromium() as browser:
        for topic in pages:
            name = names[topic.path]
            page = new_page(browser, timeout_ms=300_000)
            try:
                started = time.perf_counter()
                visit = open_app_page(page, server.url_for(topic.path, default=topic is HOME), timeout_ms=300_000)
                raw = screenshot(page, Path(scratch) / f"{name}.png")
                size = shrink_png(raw, args.out / f"{name}.png", max_bytes=args.max_kb * 1000)
                status = "ok" if not visit.problems else "ERROR ON PAGE: " + visit.problems[0][:200]
                failures += bool(visit.problems)
                print(f"{name:24s} {time.perf_counter() - started:6.1f} s {size / 1000:6.0f} kB  {status}")
            except Exception as error:  # noqa: BLE001 - report the page and carry on with the others
                failures += 1
                print(f"{name:24s} FAILED: {type(error).__name__}: {str(error)[:300]}")
            finally:
                page.context.close()
    print(f"Screenshots in {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
