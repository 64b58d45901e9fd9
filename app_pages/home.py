"""Home: what DL Lab is and what each topic page teaches."""

import streamlit as st

from ui.catalog import TOPIC_PAGES

st.title("DL Lab")
st.markdown(
    "Classic deep-learning homework, made into things you can touch. Move a slider and the page "
    "recomputes or retrains; every count and memory figure shown is checked against Keras or a "
    "worked example in the test suite. Everything works offline on built-in data; point "
    "`DLLAB_DATA_DIR` at real datasets for the full experience."
)
for topic in TOPIC_PAGES:
    with st.container(border=True):
        st.page_link(topic.path, label=topic.title, icon=topic.icon)
        st.markdown(topic.summary)
