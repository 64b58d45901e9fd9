"""Screenshots of a class exercise for the README: ``python scripts/exercise_screenshots.py``.

It sets up what an instructor and four students would leave behind, with real runs:

1. trains four small runs of the CIFAR page on the offline stand-in (100 images per class, three
   epochs; about a minute), the starting settings and three changes of learning rate and dropout;
2. reads the page's controls as a student would see them (an AppTest run of the page) and makes
   the exercise from them with :mod:`core.exercise`, as "Make an exercise" does, with the best run
   as the reference answer;
3. puts each run on the exercise's board under a nickname;
4. opens the student's link and the instructor's in Chromium and saves the exercise box and the
   class board.

Everything lives in a scratch cache (``--cache-dir`` to keep it), never the user's own.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a plain script from anywhere

from scripts.browser import (  # noqa: E402
    browser_unavailable_reason,
    chromium,
    new_page,
    open_app_page,
    screenshot,
    streamlit_server,
    wait_until_idle,
)
from scripts.screenshots import DEFAULT_OUT, shrink_png  # noqa: E402

PAGE = "app_pages/cifar_cnn.py"
QUESTION = (
    "The network below is fixed. Change only the learning rate and the dropout: "
    "which learning rate learns fastest in three epochs, and does dropout help this small a training set?"
)
# (nickname, learning rate, dropout): the starting settings first.
STUDENT_RUNS = (("ada", 3e-3, 0.0), ("grace", 1e-2, 0.0), ("alan", 3e-4, 0.0), ("katherine", 3e-3, 0.25))
SLOW_MS = 300_000


def _settings(**changes):
    from core.cifar import LabSettings

    return LabSettings(per_class=100, epochs=3, **changes)


def _page_settings(learning_rate: float, dropout: float) -> dict[str, str]:
    """Every shared control's query text on the CIFAR page at these settings, as the page itself holds them."""
    from streamlit.testing.v1 import AppTest

    from core.query_state import format_value
    from ui.shareable import CONTROLS_STATE

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.query_params.update({"per_class": "100", "epochs": "3", "learning_rate": repr(learning_rate), "dropout": repr(dropout)})
    at.switch_page(PAGE)
    at.run()
    return {key: format_value(at.session_state[key]) for key in at.session_state[CONTROLS_STATE]}


def prepare(cache_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Train the runs, make the exercise and fill its board; return the student's and the instructor's queries."""
    os.environ["DLLAB_CACHE_DIR"] = str(cache_dir)
    os.environ.setdefault("DLLAB_OFFLINE", "1")
    os.environ.setdefault("DLLAB_WORKERS", "0")
    from core import exercise as exercises
    from core.datasets import load_dataset
    from core.training import train

    runs = []
    for nickname, learning_rate, dropout in STUDENT_RUNS:
        plan = _settings(learning_rate=learning_rate, dropout=dropout)
        dataset = load_dataset(plan.dataset, per_class=plan.per_class, seed=plan.seed)
        started = time.perf_counter()
        result = train(plan.train_config(), dataset)
        print(f"{nickname:10s} lr {learning_rate:g} dropout {dropout:g}: {result.test_accuracy:.1%} ({time.perf_counter() - started:.0f} s)")
        runs.append((nickname, learning_rate, dropout, result))

    start = _page_settings(STUDENT_RUNS[0][1], STUDENT_RUNS[0][2])
    # A goal half the class meets: the median accuracy of these runs, rounded down to a whole percent.
    target = int(statistics.median(result.test_accuracy for *_, result in runs) * 100) / 100
    best = max(runs, key=lambda run: run[3].test_accuracy)
    exercise = exercises.Exercise(
        page="cifar_cnn",
        question=QUESTION,
        start=tuple(start.items()),
        free=("dropout", "learning_rate"),
        goal=exercises.Goal(min_accuracy=target),
        has_answer=True,
        answer_visible=True,
        made_at=int(time.time()),
    )
    answer_settings = {**start, "learning_rate": repr(best[1]), "dropout": repr(best[2])}
    exercises.save_answer(
        exercise,
        exercises.Answer("this run", best[3].key, tuple(answer_settings.items()), best[3].test_accuracy, best[3].params, best[3].train_seconds),
    )
    for nickname, learning_rate, dropout, result in runs:
        settings = {**start, "learning_rate": repr(learning_rate), "dropout": repr(dropout)}
        check = exercise.goal.check(accuracy=result.test_accuracy, params=result.params, seconds=result.train_seconds)
        exercises.record_run(
            exercise.id,
            exercises.BoardEntry(
                nickname, result.key, "this run", tuple(sorted(exercises.changed_settings(exercise, settings).items())),
                result.test_accuracy, result.params, result.train_seconds, check.passed, at=time.time(),
            ),
        )
    secret = exercises.server_secret()
    student = exercises.link_query(exercise, secret)
    return student, {**student, exercises.TEACHER_PARAM: exercises.teacher_token(exercise, secret)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache-dir", type=Path, help="where the runs and the exercise are kept (default: a scratch folder)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the PNGs (default docs/screenshots)")
    parser.add_argument("--max-kb", type=int, default=300, help="size limit of each PNG in kB (default 300)")
    args = parser.parse_args(argv)
    reason = browser_unavailable_reason()
    if reason:
        print(f"Cannot take screenshots: {reason}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        cache_dir = (args.cache_dir or Path(scratch) / "cache").resolve()
        cache_dir.mkdir(parents=True, exist_ok=True)
        student, teacher = prepare(cache_dir)
        args.out.mkdir(parents=True, exist_ok=True)
        shots = (("exercise_student", student, None), ("exercise_board", teacher, QUESTION[:40]))
        failures = 0
        with streamlit_server(env={"DLLAB_CACHE_DIR": str(cache_dir)}) as server, chromium() as browser:
            for name, query, top in shots:
                page = new_page(browser, viewport={"width": 1400, "height": 1000}, timeout_ms=SLOW_MS)
                try:
                    visit = open_app_page(page, f"{server.url_for(PAGE)}?{urlencode(query)}", timeout_ms=SLOW_MS)
                    if top is not None:
                        page.get_by_text(top).first.evaluate("element => element.scrollIntoView({block: 'start'})")
                        wait_until_idle(page, timeout_ms=SLOW_MS)
                    raw = screenshot(page, Path(scratch) / f"{name}.png", full_page=False)
                    size = shrink_png(raw, args.out / f"{name}.png", max_bytes=args.max_kb * 1000)
                    failures += bool(visit.problems)
                    print(f"{name:18s} {size / 1000:6.0f} kB  {'ok' if not visit.problems else 'ERROR ON PAGE: ' + visit.problems[0][:200]}")
                finally:
                    page.context.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
