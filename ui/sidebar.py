"""The sidebar every page shares: the data directory in use and the training cache."""

from __future__ import annotations

import streamlit as st

from core import settings
from core.cache import DiskCache
from ui.widgets import inline_code


def draw_sidebar() -> None:
    """Show where data comes from and what the cache holds, with a button to clear the cache."""
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
            summary = settings.summarize_directory(data_dir)
            st.markdown(inline_code(str(data_dir)))
            st.markdown("\n".join(f"- {inline_code(name)}" for name in summary.entries) or "_(empty)_")
        st.caption("Cache")
        cache = DiskCache()
        st.markdown(inline_code(str(cache.root)))
        used = cache.size_bytes()
        st.write(
            f"{settings.format_bytes(used)} used of {settings.format_bytes(cache.limit_bytes)} "
            f"({len(cache.entries())} entries; least recently used go first)."
        )
        # Behind a confirmation: on a classroom server one click empties everyone's pre-warmed runs.
        with st.popover("Clear cache…", icon=":material/delete:"):
            st.caption(
                "Deletes every trained run and cached feature for everyone using this server; "
                "pre-warmed pages will train again. Trainings in progress still finish."
            )
            clicked = st.button("Yes, clear the cache", type="primary", key="clear_cache")
        if clicked:
            cache.clear()
            st.cache_resource.clear()
            st.cache_data.clear()
            st.toast("Cache cleared.")
            st.rerun()
