"""The topic pages, in the order the course meets them. ``app.py`` and the home page both read this."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicPage:
    """One page of the app: its file, its title in the menu, and what it teaches."""

    path: str
    title: str
    icon: str
    summary: str


HOME = TopicPage("pages/home.py", "Home", ":material/school:", "What each page teaches.")

TOPIC_PAGES: tuple[TopicPage, ...] = ()
