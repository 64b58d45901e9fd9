"""DL Lab's library: plain, typed Python behind the Streamlit pages. Nothing here imports Streamlit."""
