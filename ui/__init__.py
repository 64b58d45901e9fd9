"""Streamlit helpers shared by the pages: the sidebar, the page catalog, progress and banners."""
