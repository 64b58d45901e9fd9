"""DL Lab: the router. It sets up the page, the shared sidebar and the navigation, and nothing else."""

import streamlit as st

from ui.catalog import HOME, TOPIC_PAGES
from ui.exercise import apply_exercise_link
from ui.server_tuning import keep_keras_session
from ui.sidebar import draw_sidebar
from ui.training import cancel_when_leaving
from ui.widgets import download_progress

keep_keras_session()

st.set_page_config(page_title="DL Lab", page_icon=":material/school:", layout="wide")

pages = [st.Page(HOME.path, title=HOME.title, icon=HOME.icon, default=True)]
pages += [st.Page(topic.path, title=topic.title, icon=topic.icon) for topic in TOPIC_PAGES]
navigation = st.navigation(pages)
draw_sidebar()
cancel_when_leaving(navigation.url_path)
apply_exercise_link(navigation.url_path)
with download_progress():  # a bar for any dataset or weights a page downloads
    navigation.run()
