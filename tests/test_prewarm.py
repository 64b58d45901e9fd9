"""``python -m ui.prewarm`` trains every training page's defaults once; afterwards nothing trains."""

from __future__ import annotations

import pytest

import core.training.executor
from ui.catalog import TOPIC_PAGES
from ui.prewarm import TerminalBar, main, prewarm

pytestmark = pytest.mark.slow


def test_prewarm_trains_each_page_once_then_every_page_opens_from_the_cache(monkeypatch, capsys) -> None:
    training_pages = [topic.title for topic in TOPIC_PAGES if topic.train_button]
    assert len(training_pages) >= 5

    first = prewarm()
    assert [outcome.page for outcome in first] == training_pages
    assert [outcome.status for outcome in first] == ["trained"] * len(training_pages), first

    def no_training(*args, **kwargs):
        raise AssertionError("a pre-warmed page trained again")

    monkeypatch.setattr(core.training.executor.Executor, "submit", no_training)
    second = prewarm()
    assert [outcome.status for outcome in second] == ["already cached"] * len(training_pages), second

    assert main(["--page", training_pages[0]]) == 0
    assert "already cached" in capsys.readouterr().out


def test_unknown_page_is_a_usage_error() -> None:
    with pytest.raises(SystemExit):
        main(["--page", "No such page"])


def test_terminal_bar_writes_lines_when_not_a_terminal(capsys) -> None:
    import sys

    bar = TerminalBar("CIFAR CNN lab", stream=sys.stdout)
    bar(core.training.TrainingProgress(0.5, "Epoch 1/2"))
    bar(core.training.TrainingProgress(1.0, "Loaded from cache"))
    output = capsys.readouterr().out
    assert "[##############..............]  50% Epoch 1/2" in output
    assert bar.trained
