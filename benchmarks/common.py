"""Helpers the benchmark scripts share: a plain-text table and a timer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def app_test(page: str | None = None, *, timeout: float = 900, query: dict[str, str] | None = None):
    """The whole app in Streamlit's AppTest, switched to ``page`` (opened from a link with ``query``) and run.

    The benchmarks' own copy of what the tests do, so no benchmark imports test code.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    if query:
        at.query_params.update(query)
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


def print_table(rows: Iterable[dict], title: str = "") -> None:
    """Print dict rows as an aligned text table."""
    rows = list(rows)
    if title:
        print(f"\n## {title}")
    if not rows:
        print("(no rows)")
        return
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[_format(row.get(column, "")) for column in columns] for row in rows]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    print(" | ".join(column.ljust(width) for column, width in zip(columns, widths)))
    print("-+-".join("-" * width for width in widths))
    for line in cells:
        print(" | ".join(cell.ljust(width) for cell, width in zip(line, widths)))


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def best_time(function: Callable[[], object], *, repeats: int = 20) -> float:
    """The fastest of ``repeats`` calls, in seconds (the least disturbed by other work)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)
