"""Class exercises: signed links that lock controls, goals, the class board and the reference answer."""

from __future__ import annotations

import json
import math
import os
import stat
from urllib.parse import parse_qsl, urlsplit

import pytest

from conftest import CIFAR_PAGE, app_test, baseline_settings
from core import exercise as exercises
from core.cache import DiskCache
from core.exercise import Answer, BoardEntry, Exercise, Goal

SECRET = b"a test secret that is long enough"
START = (("activation", "relu"), ("epochs", "1"), ("learning_rate", "0.001"), ("per_class", "10"), ("seed", "0"))


def _exercise(**changes) -> Exercise:
    fields = dict(page="cifar_cnn", question="Beat 60%.", start=START, free=("seed",), goal=Goal(min_accuracy=0.6))
    return Exercise(**(fields | changes))


# ---------------------------------------------------------------------------------------------
# The signed link


def test_a_signed_link_reads_back_as_the_same_exercise() -> None:
    exercise = _exercise(hide_locked=True, has_answer=True, made_at=1_700_000_000)
    query = exercises.link_query(exercise, SECRET)
    reading = exercises.read_exercise(query, "cifar_cnn", SECRET)
    assert reading.problem is None and reading.exercise == exercise
    assert exercise.locked == {"activation": "relu", "epochs": "1", "learning_rate": "0.001", "per_class": "10"}
    assert {key: query[key] for key, _ in START} == dict(START)  # the controls start where the instructor left them


def test_changing_any_character_of_the_signature_or_payload_unlocks_the_page() -> None:
    query = exercises.link_query(_exercise(), SECRET)
    token = query[exercises.EXERCISE_PARAM]
    for position, character in enumerate(token):
        if character == ".":
            continue
        replacement = "A" if character != "A" else "B"
        tampered = token[:position] + replacement + token[position + 1 :]
        reading = exercises.read_exercise({**query, exercises.EXERCISE_PARAM: tampered}, "cifar_cnn", SECRET)
        assert reading.exercise is None and reading.problem == exercises.TAMPERED, position


def test_a_changed_locked_value_unlocks_the_page_but_a_free_one_does_not() -> None:
    query = exercises.link_query(_exercise(), SECRET)
    locked = exercises.read_exercise({**query, "learning_rate": "0.1"}, "cifar_cnn", SECRET)
    assert locked.exercise is None and locked.problem == exercises.TAMPERED
    free = exercises.read_exercise({**query, "seed": "7"}, "cifar_cnn", SECRET)
    assert free.exercise is not None
    missing = {key: value for key, value in query.items() if key != "activation"}
    assert exercises.read_exercise(missing, "cifar_cnn", SECRET).exercise is not None  # the lock still holds it


def test_foreign_oversized_and_other_page_links_are_refused() -> None:
    query = exercises.link_query(_exercise(), SECRET)
    assert exercises.read_exercise(query, "cifar_cnn", b"another server's secret").problem == exercises.TAMPERED
    huge = {exercises.EXERCISE_PARAM: "A" * (exercises.MAX_LINK_CHARS + 1) + ".x"}
    assert exercises.read_exercise(huge, "cifar_cnn", SECRET).problem == exercises.TAMPERED
    for junk in ("", ".", "abc", "a.b.c", "%%%.%%%"):
        assert exercises.read_exercise({exercises.EXERCISE_PARAM: junk}, "cifar_cnn", SECRET).problem == exercises.TAMPERED
    other = exercises.read_exercise(query, "sequence_models", SECRET)
    assert other.exercise is None and "another page (cifar_cnn)" in other.problem
    assert exercises.read_exercise({"seed": "1"}, "cifar_cnn", SECRET) == exercises.ExerciseReading()


def test_a_signed_payload_in_another_format_is_refused_not_crashing() -> None:
    """Even with the right secret (a link from an older version, say), only exactly this format is read."""
    import base64
    import zlib

    for data in ({"v": 1}, [1, 2], {**_exercise().as_json(), "start": [["a", 1]]}, {**_exercise().as_json(), "v": 2}):
        payload = base64.urlsafe_b64encode(zlib.compress(json.dumps(data).encode())).rstrip(b"=").decode()
        token = f"{payload}.{exercises._signature(payload, SECRET)}"
        assert exercises.read_exercise({exercises.EXERCISE_PARAM: token}, "cifar_cnn", SECRET).problem == exercises.TAMPERED


def test_an_exercise_needs_a_question_and_real_controls() -> None:
    with pytest.raises(ValueError, match="question"):
        _exercise(question="  ")
    with pytest.raises(ValueError, match="not among"):
        _exercise(free=("no_such_control",))
    with pytest.raises(ValueError, match="under 1,000"):
        _exercise(question="x" * 1_001)


def test_the_teacher_token_belongs_to_one_exercise_and_one_server() -> None:
    first, second = _exercise(), _exercise(made_at=5)
    token = exercises.teacher_token(first, SECRET)
    assert exercises.is_teacher(token, first, SECRET)
    assert not exercises.is_teacher(token, second, SECRET)
    assert not exercises.is_teacher(token, first, b"other")
    assert not exercises.is_teacher(None, first, SECRET) and not exercises.is_teacher("x" * 500, first, SECRET)


# ---------------------------------------------------------------------------------------------
# The goal


@pytest.mark.parametrize(
    ("goal", "figures", "passed", "misses"),
    [
        (Goal(min_accuracy=0.6), (0.61, 10, 1.0), True, ()),
        (Goal(min_accuracy=0.6), (0.59, 10, 1.0), False, ("accuracy 59.0% < 60.0%",)),
        (Goal(min_accuracy=0.6), (math.nan, 10, 1.0), False, ("accuracy no accuracy (diverged) < 60.0%",)),
        (Goal(max_params=100_000), (0.1, 100_000, 1.0), True, ()),
        (Goal(max_params=100_000), (0.1, 100_001, 1.0), False, ("100,001 parameters > 100,000",)),
        (Goal(max_seconds=30), (0.1, 1, 30.5), False, ("30.5 s > 30 s",)),
        (Goal(min_accuracy=0.5, max_params=10), (0.4, 11, 1.0), False, ("accuracy 40.0% < 50.0%", "11 parameters > 10")),
        (Goal(), (math.nan, 10**9, 1e9), True, ()),
    ],
)
def test_pass_or_fail_follows_the_goal(goal: Goal, figures: tuple, passed: bool, misses: tuple) -> None:
    accuracy, params, seconds = figures
    check = goal.check(accuracy=accuracy, params=params, seconds=seconds)
    assert (check.passed, check.misses) == (passed, misses)


def test_impossible_goals_are_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="between 0% and 100%"):
        Goal(min_accuracy=1.5)
    with pytest.raises(ValueError, match="at least 1"):
        Goal(max_params=0)
    with pytest.raises(ValueError, match="positive"):
        Goal(max_seconds=math.inf)
    assert Goal(min_accuracy=0.6, max_params=100_000).describe() == "test accuracy ≥ 60.0% and ≤ 100,000 parameters"


# ---------------------------------------------------------------------------------------------
# The board, the answer and the secret on disk


def _entry(nickname: str, key: str, accuracy: float, *, passed: bool = True, params: int = 100) -> BoardEntry:
    return BoardEntry(nickname, key, "CNN", (("seed", "1"),), accuracy, params, 2.0, passed, at=1.0)


def test_the_board_keeps_runs_once_per_nickname_and_ranks_them() -> None:
    board = _exercise().id
    assert exercises.record_run(board, _entry("ada", "k1", 0.5))
    assert not exercises.record_run(board, _entry("ada", "k1", 0.5))  # the same run shown again
    assert exercises.record_run(board, _entry("bob", "k1", 0.5, params=50))
    assert exercises.record_run(board, _entry("cy", "k2", 0.9, passed=False))
    assert exercises.record_run(board, _entry("dee", "k3", math.nan, passed=False))
    assert exercises.record_run(board, _entry("eve", "k4", 0.7))
    order = [(entry.nickname, entry.run_key) for entry in exercises.read_board(board)]
    assert order == [("eve", "k4"), ("bob", "k1"), ("ada", "k1"), ("cy", "k2"), ("dee", "k3")]
    exercises.clear_board(board)
    assert exercises.read_board(board) == []


def test_the_board_survives_a_damaged_line_and_stops_at_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    board = _exercise().id
    exercises.record_run(board, _entry("ada", "k1", 0.5))
    with open(exercises.board_path(board), "a", encoding="utf-8") as handle:
        handle.write('{"nickname": "cut sho\n[1, 2]\n')
    monkeypatch.setattr(exercises, "MAX_BOARD_ENTRIES", 4)
    assert exercises.record_run(board, _entry("bob", "k2", 0.6))
    assert [entry.nickname for entry in exercises.read_board(board)] == ["bob", "ada"]
    assert not exercises.record_run(board, _entry("cy", "k3", 0.6))  # full: four lines, damaged ones included


def test_nicknames_are_cut_to_printable_text() -> None:
    assert exercises.clean_nickname("  Ada\n\t Lovelace\u200b\x00 ") == "Ada Lovelace"
    assert len(exercises.clean_nickname("x" * 500)) == exercises.MAX_NICKNAME_CHARS


def test_the_answer_is_kept_on_the_server_not_in_the_link() -> None:
    exercise = _exercise(has_answer=True)
    answer = Answer("CNN", "key1", (("learning_rate", "0.01"),), 0.72, 1234, 5.5)
    exercises.save_answer(exercise, answer)
    assert exercises.load_answer(exercise) == answer
    token = exercises.link_query(exercise, SECRET)[exercises.EXERCISE_PARAM]
    assert "0.72" not in token and exercises.load_answer(_exercise(made_at=9)) is None


def test_the_secret_is_made_once_kept_private_and_survives_a_cache_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(exercises.SECRET_ENV, raising=False)
    first = exercises.server_secret()
    assert exercises.server_secret() == first and len(first) == 64 and not exercises.secret_is_temporary()
    path = exercises._private_folder() / "secret"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    board = _exercise().id
    exercises.record_run(board, _entry("ada", "k1", 0.5))
    DiskCache().clear()
    assert exercises.server_secret() == first and len(exercises.read_board(board)) == 1
    monkeypatch.setenv(exercises.SECRET_ENV, "from the environment")
    assert exercises.server_secret() == b"from the environment"


# ---------------------------------------------------------------------------------------------
# Through the CIFAR page

WIDGET_KINDS = ("selectbox", "number_input", "slider", "select_slider", "radio", "checkbox", "toggle", "multiselect", "text_input")


def _controls(at) -> dict[str, bool]:
    """Every shared control on the page and whether it is disabled."""
    from ui.shareable import CONTROLS_STATE

    found = {}
    for key in at.session_state[CONTROLS_STATE]:
        for kind in WIDGET_KINDS:
            try:
                found[key] = getattr(at, kind)(key=key).disabled
                break
            except KeyError:
                continue
    return found


def _make_link(at, *, free: list[str], question: str = "Beat the baseline.", **goal) -> tuple[str, str]:
    """Fill in "Make an exercise" on the page and return the student's and the instructor's links."""
    at.text_area(key="exercise_make_question").input(question)
    at.multiselect(key="exercise_make_free").set_value(free)
    for name, value in goal.items():
        at.number_input(key=f"exercise_make_{name}").set_value(value)
    next(button for button in at.button if button.label == "Make the exercise link").click().run()
    assert not at.exception
    links = [code.value for code in at.code if f"{exercises.EXERCISE_PARAM}=" in code.value]
    assert len(links) == 2, [code.value for code in at.code]
    return links[0], links[1]


def _query(link: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(link).query))


def _tiny_cifar_page():
    at = app_test(CIFAR_PAGE)
    at.number_input(key="per_class").set_value(baseline_settings().per_class).run()
    at.number_input(key="epochs").set_value(baseline_settings().epochs).run()
    return at


@pytest.mark.slow
def test_a_signed_link_locks_exactly_the_chosen_controls_and_tampering_unlocks_them() -> None:
    instructor = _tiny_cifar_page()
    assert not any(_controls(instructor).values())
    student_link, _ = _make_link(instructor, free=["activation", "learning_rate"], question="Which **rate** wins?")
    query = _query(student_link)

    student = app_test(CIFAR_PAGE, query=query)
    controls = _controls(student)
    assert len(controls) >= 15
    assert {key for key, disabled in controls.items() if not disabled} == {"activation", "learning_rate"}
    assert any("Which \\*\\*rate\\*\\* wins?" in block.value for block in student.markdown)  # shown literally
    assert student.number_input(key="per_class").value == 10  # locked at the instructor's value
    assert any("Yours to change: **Activation, Learning rate \\(log scale\\)**" in caption.value for caption in student.caption)
    student.select_slider(key="learning_rate").set_value(1e-2).run()
    assert not student.exception and student.query_params["learning_rate"] == "0.01"

    token = query[exercises.EXERCISE_PARAM]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for tampered in ({**query, exercises.EXERCISE_PARAM: flipped}, {**query, "per_class": "500"}):
        opened = app_test(CIFAR_PAGE, query=tampered)
        assert not any(_controls(opened).values())
        assert any("changed since it was made" in warning.value for warning in opened.warning)
        assert not any(block.value.endswith("Exercise") for block in opened.markdown)


@pytest.mark.slow
def test_hidden_controls_are_not_drawn_but_still_hold_their_values() -> None:
    instructor = _tiny_cifar_page()
    instructor.radio(key="exercise_make_hide").set_value("hidden")
    student_link, _ = _make_link(instructor, free=["seed"])
    student = app_test(CIFAR_PAGE, query=_query(student_link))
    assert _controls(student) == {"seed": False}
    assert student.button(key="train").label == "Train"  # the page still builds its run from the hidden values
    assert not student.exception


@pytest.mark.slow
def test_badges_the_board_and_the_answer_across_two_students(baseline) -> None:
    """Two sessions train for one exercise: both runs are on the board, ranked, with pass/fail from the goal."""
    instructor = _tiny_cifar_page()
    instructor.selectbox(key="exercise_make_answer").set_value(next(iter(instructor.session_state["dllab_exercise_shown"])))
    instructor.checkbox(key="exercise_make_answer_visible").check()
    # The goal sits just above the baseline's parameter count minus one: the baseline fails, ...
    student_link, teacher_link = _make_link(instructor, free=["seed", "dropout"], params=baseline.params - 1)

    ada = app_test(CIFAR_PAGE, query=_query(student_link), timeout=180)
    ada.text_input(key="exercise_nickname").input("ada").run()
    badges = [block.value for block in ada.markdown if "-badge[" in block.value]
    assert len(badges) == 1 and badges[0].startswith(":red-badge[")  # the cached baseline run misses the goal
    assert f"{baseline.params:,} parameters > {baseline.params - 1:,}" in badges[0]
    assert not any("nickname" in frame.value.columns for frame in ada.dataframe)  # opening the link is not a run
    ada.number_input(key="seed").set_value(1).run()
    ada.button(key="train").click().run()
    assert not ada.exception

    bob = app_test(CIFAR_PAGE, query=_query(student_link), timeout=180)
    bob.text_input(key="exercise_nickname").input("bob").run()
    bob.number_input(key="seed").set_value(1).run()  # ada's run, from the cache: bob reached it too
    bob.slider(key="dropout").set_value(0.25).run()
    bob.button(key="train").click().run()
    assert not bob.exception

    board = next(frame.value for frame in bob.dataframe if "nickname" in frame.value.columns)
    assert sorted(zip(board["nickname"], board["changed settings"])) == [
        ("ada", "Seed = 1"), ("bob", "Dropout = 0.25, Seed = 1"), ("bob", "Seed = 1")
    ]
    assert set(board["goal"]) == {"not yet"}
    exercise = exercises.read_exercise(_query(student_link), "cifar_cnn", exercises.server_secret()).exercise
    assert list(board["nickname"]) == [entry.nickname for entry in exercises.ranked(exercises.read_board(exercise.id))]
    accuracies = list(board["test accuracy"])
    assert accuracies == sorted(accuracies, reverse=True)

    ada.toggle(key="exercise_show_answer").set_value(True).run()
    answer = next(block.value for block in ada.markdown if "Reference answer" in block.value)
    assert f"{baseline.test_accuracy:.1%} test accuracy, {baseline.params:,} parameters" in answer

    teacher = app_test(CIFAR_PAGE, query=_query(teacher_link))
    next(button for button in teacher.button if button.label == "Clear the board").click().run()
    assert not any("nickname" in frame.value.columns for frame in teacher.dataframe)
