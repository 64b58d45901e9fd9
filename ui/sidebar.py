"""The sidebar every page shares: the data directory in use and the training cache."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core import settings
from core.cache import DiskCache, cache_problem, cache_problem_message
from ui.widgets import inline_code

POOL_LABELS = {"runs": "trained runs", "data": "features and decoded data", "uploads": "unpacked uploads"}


# Both are read on every rerun of every page: a data directory of 100,000 files took 1.3 s to list,
# and the cache's size is a walk over every file in it. A few seconds' staleness is harmless.
@st.cache_data(ttl=30, show_spinner=False, max_entries=4)
def data_directory_summary(path: str) -> settings.DirectorySummary:
    """The data directory's first names and how many it holds."""
    return settings.summarize_directory(Path(path))


@st.cache_data(ttl=10, show_spinner=False, max_entries=4)
def cache_usage(root: str) -> list[tuple[str, int, int, int]]:
    """(pool, bytes used, limit, entries) for each of the cache's pools."""
    return [(usage.pool, usage.used_bytes, usage.limit_bytes, usage.entries) for usage in DiskCache(Path(root)).usage()]


def draw_sidebar() -> None:
    """Show where data comes from and what the cache holds, with a button to clear the cache.

    When the cache folder takes no writes (read-only, disk full), one banner above every page says so.
    """
    cache = DiskCache()
    problem = cache_problem(cache.root)
    if problem is not None:
        st.warning(cache_problem_message(problem), icon=":material/save:")
    with st.sidebar:
        st.caption("Data directory")
        data_dir = settings.data_dir()
        if data_dir is None:
            st.info(
                f"No data directory set. Pages use their built-in offline defaults. "
                f"Set `{settings.DATA_DIR_ENV}` to a folder of real datasets.",
                icon=":material/cloud_off:",
            )
        else:
            summary = data_directory_summary(str(data_dir))
            st.markdown(inline_code(str(data_dir)))
            listed = "\n".join(f"- {inline_code(name)}" for name in summary.entries) or "_(empty)_"
            hidden = summary.total_entries - len(summary.entries)
            st.markdown(listed + (f"\n- … and {hidden:,} more" if hidden > 0 else ""))
        st.caption("Cache")
        st.markdown(inline_code(str(cache.root)))
        lines = [
            f"- {POOL_LABELS[pool]}: {settings.format_bytes(used)} of {settings.format_bytes(limit)} ({entries} entries)"
            for pool, used, limit, entries in cache_usage(str(cache.root))
        ]
        st.markdown("\n".join(lines) + "\n\nLeast recently used go first, each kind within its own limit.")
        # Behind a confirmation: on a classroom server one click empties everyone's pre-warmed runs.
        with st.popover("Clear cache…", icon=":material/delete:"):
            st.caption(
                "Deletes every trained run and cached feature for everyone using this server; "
                "pre-warmed pages will train again. Trainings in progress still finish."
            )
            clicked = st.button("Yes, clear the cache", type="primary", key="clear_cache")
        if clicked:
            report = cache.clear()
            st.cache_resource.clear()
            st.cache_data.clear()
            st.session_state["cache_cleared"] = report.describe() if report.failed else None
            if not report.failed:
                st.toast(report.describe())
                st.rerun()
        failure = st.session_state.get("cache_cleared")
        if failure:
            st.error(failure, icon=":material/error:")
