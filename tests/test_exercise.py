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
from core.training import list_cached_runs
from ui.exercise import MAKER_OPEN

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


def _entry(nickname: str, key: str, accuracy: float, *, passed: bool = True, params: int = 100, author: str = "") -> BoardEntry:
    return BoardEntry(nickname, key, "CNN", (("seed", "1"),), accuracy, params, 2.0, passed, at=1.0, author=author or nickname)


def test_the_board_keeps_runs_once_per_student_and_ranks_them() -> None:
    board = _exercise().id
    assert exercises.record_run(board, _entry("ada", "k1", 0.5)) == "added"
    assert exercises.record_run(board, _entry("ada", "k1", 0.5)) == "kept"  # the same run shown again
    assert exercises.record_run(board, _entry("bob", "k1", 0.5, params=50)) == "added"
    assert exercises.record_run(board, _entry("cy", "k2", 0.9, passed=False)) == "added"
    assert exercises.record_run(board, _entry("dee", "k3", math.nan, passed=False)) == "added"
    assert exercises.record_run(board, _entry("eve", "k4", 0.7)) == "added"
    order = [(entry.nickname, entry.run_key) for entry in exercises.read_board(board)]
    assert order == [("eve", "k4"), ("bob", "k1"), ("ada", "k1"), ("cy", "k2"), ("dee", "k3")]
    exercises.clear_board(board)
    assert exercises.read_board(board) == []


def test_a_new_nickname_renames_the_students_runs_instead_of_adding_them() -> None:
    board = _exercise().id
    assert exercises.record_run(board, _entry("", "k1", 0.5, author="session-1")) == "added"
    assert exercises.record_run(board, _entry("Ada", "k1", 0.5, author="session-1")) == "renamed"
    assert exercises.record_run(board, _entry("Ada", "k1", 0.5, author="session-2")) == "added"  # another student
    assert sorted((entry.author, entry.nickname) for entry in exercises.read_board(board)) == [
        ("session-1", "Ada"), ("session-2", "Ada")
    ]


def test_the_board_survives_damaged_lines_and_stops_at_its_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    board = _exercise().id
    exercises.record_run(board, _entry("ada", "k1", 0.5))
    with open(exercises.board_path(board), "a", encoding="utf-8") as handle:
        handle.write('{"nickname": "cut sho\n[1, 2]\n{"run_key": "x", "params": Infinity, "seconds": 1, "passed": true, "changed": []}\n')
    monkeypatch.setattr(exercises, "MAX_BOARD_ENTRIES", 5)
    assert exercises.record_run(board, _entry("bob", "k2", 0.6)) == "added"
    assert [entry.nickname for entry in exercises.read_board(board)] == ["bob", "ada"]
    assert exercises.record_run(board, _entry("cy", "k3", 0.6)) == "full"  # five lines, damaged ones included
    exercises.clear_board(board)
    monkeypatch.setattr(exercises, "MAX_ENTRIES_PER_AUTHOR", 2)
    outcomes = [exercises.record_run(board, _entry("ada", f"k{number}", 0.5)) for number in range(3)]
    assert outcomes == ["added", "added", "too many"]
    assert exercises.record_run(board, _entry("bob", "k9", 0.5)) == "added"


def test_a_diverged_runs_figures_go_on_the_board_without_breaking_it() -> None:
    board = _exercise().id
    entry = BoardEntry("ada", "k1", "CNN", (), math.nan, 10, math.inf, False)
    assert exercises.record_run(board, entry) == "added"
    (read,) = exercises.read_board(board)
    assert math.isnan(read.accuracy) and math.isnan(read.seconds)


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
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    monkeypatch.setenv(exercises.SECRET_ENV, "from the environment")
    assert exercises.server_secret() == b"from the environment"


@pytest.mark.parametrize("damage", [b"", b"abc", "é".encode() * 40, b"z" * 64])
def test_a_damaged_secret_file_is_replaced_not_trusted(monkeypatch: pytest.MonkeyPatch, damage: bytes) -> None:
    monkeypatch.delenv(exercises.SECRET_ENV, raising=False)
    path = exercises._private_folder() / "secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(damage)
    secret = exercises.server_secret()
    assert len(secret) == 64 and path.read_bytes() == secret and not exercises.secret_is_temporary()
    assert not list(path.parent.glob(".tmp-secret-*"))


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


def _open_maker(at) -> None:
    """Open "Make an exercise": its form is drawn only while the expander is open."""
    if not any(area.key == "exercise_make_question" for area in at.text_area):
        at.session_state[MAKER_OPEN] = True
        at.run()


def _make_link(at, *, free: list[str], question: str = "Beat the baseline.", **goal) -> tuple[str, str]:
    """Fill in "Make an exercise" on the page and return the student's and the instructor's links."""
    _open_maker(at)
    at.text_area(key="exercise_make_question").input(question)
    at.multiselect(key="exercise_make_free").set_value(free)
    for name, value in goal.items():
        at.number_input(key=f"exercise_make_{name}").set_value(value)
    next(button for button in at.button if button.label == "Make the exercise link").click().run()
    assert not at.exception
    links = [code.value for code in at.code if f"{exercises.EXERCISE_PARAM}=" in code.value]
    assert len(links) == 2, [code.value for code in at.code]
    return links[0], links[1]


def _has_button(at, key: str) -> bool:
    return any(button.key == key for button in at.button)


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

    assert not _has_button(student, "seeds_train")  # five seeds would change the fixed seed

    token = query[exercises.EXERCISE_PARAM]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for tampered in ({**query, exercises.EXERCISE_PARAM: flipped}, {**query, "per_class": "500"}):
        opened = app_test(CIFAR_PAGE, query=tampered)
        assert not any(_controls(opened).values())
        assert any("changed since it was made" in warning.value for warning in opened.warning)
        assert not any(block.value.endswith("Exercise") for block in opened.markdown)


@pytest.mark.slow
def test_settings_that_appear_later_are_locked_too_and_only_free_controls_can_be_swept() -> None:
    instructor = _tiny_cifar_page()
    assert "iterations" not in _controls(instructor) and "sweep_control" not in _controls(instructor)
    student_link, _ = _make_link(instructor, free=["length_unit", "mode", "activation", "seed"])
    student = app_test(CIFAR_PAGE, query=_query(student_link))
    student.radio(key="length_unit").set_value("iterations").run()
    assert student.number_input(key="iterations").disabled  # not there when the exercise was made: locked
    student.radio(key="mode").set_value("compare").run()
    assert student.selectbox(key="sweep_control").options == ["Activation", "Seed"]
    assert student.multiselect(key="sweep_values_activation").disabled
    assert _has_button(student, "train") and not student.exception
    assert not _has_button(student, "seeds_train")  # compare mode: a sweep compares runs already
    student.radio(key="mode").set_value("single").run()
    assert _has_button(student, "seeds_train")  # the seed is the student's to change


@pytest.mark.slow
def test_hidden_controls_are_not_drawn_but_still_hold_their_values() -> None:
    instructor = _tiny_cifar_page()
    _open_maker(instructor)
    instructor.radio(key="exercise_make_hide").set_value("hidden")
    student_link, _ = _make_link(instructor, free=["seed"])
    student = app_test(CIFAR_PAGE, query=_query(student_link))
    assert _controls(student) == {"seed": False}
    assert student.button(key="train").label == "Train"  # the page still builds its run from the hidden values
    assert not student.exception


@pytest.mark.slow
def test_badges_the_board_and_the_answer_across_two_students(baseline) -> None:
    """Two sessions train for one exercise: their runs are on the board, ranked, with pass/fail from the goal."""
    instructor = _tiny_cifar_page()
    instructor.number_input(key="seed").set_value(1).run()
    instructor.button(key="train").click().run()  # the reference answer: the same net with seed 1
    answer_run = next(run for run in list_cached_runs() if run.config.seed == 1)
    instructor.number_input(key="seed").set_value(0).run()  # students start at seed 0
    _open_maker(instructor)
    instructor.selectbox(key="exercise_make_answer").set_value(answer_run.key)
    instructor.checkbox(key="exercise_make_answer_visible").check()
    # The goal is one parameter short of this network's count: every run of it fails, with the reason.
    student_link, teacher_link = _make_link(instructor, free=["seed", "dropout"], params=baseline.params - 1)

    ada = app_test(CIFAR_PAGE, query=_query(student_link), timeout=180)
    ada.text_input(key="exercise_nickname").input("ada").run()
    badges = [block.value for block in ada.markdown if "-badge[" in block.value]
    assert len(badges) == 1 and badges[0].startswith(":red-badge[")  # the cached baseline run misses the goal
    assert f"{baseline.params:,} parameters > {baseline.params - 1:,}" in badges[0]
    assert not any("nickname" in frame.value.columns for frame in ada.dataframe)  # opening the link is not a run
    ada.number_input(key="seed").set_value(1).run()  # the instructor's run, from the cache: ada reached it
    assert not ada.exception

    bob = app_test(CIFAR_PAGE, query=_query(student_link), timeout=180)
    bob.text_input(key="exercise_nickname").input("bob").run()
    bob.number_input(key="seed").set_value(1).run()
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
    assert f"{answer_run.test_accuracy:.1%} test accuracy, {answer_run.params:,} parameters" in answer
    differs = next(frame.value for frame in ada.dataframe if "answer" in frame.value.columns)
    assert differs.to_dict("records") == [{"setting": "Seed", "start": "0", "answer": "1"}]

    teacher = app_test(CIFAR_PAGE, query=_query(teacher_link))
    teacher.button(key="exercise_clear_board").click().run()
    assert not any("nickname" in frame.value.columns for frame in teacher.dataframe)

    # The same answer, hidden: the runs table of every run on the server leaves it out.
    _open_maker(instructor)
    instructor.checkbox(key="exercise_make_answer_visible").uncheck()
    hidden_link, _ = _make_link(instructor, free=["seed"])
    student = app_test(CIFAR_PAGE, query=_query(hidden_link))
    runs_table = next(frame.value for frame in student.dataframe if "status" in frame.value.columns)
    assert baseline.key[:6] in set(runs_table["run"]) and answer_run.key[:6] not in set(runs_table["run"])
    assert not any(toggle.key == "exercise_show_answer" for toggle in student.toggle)


@pytest.mark.slow
@pytest.mark.parametrize(
    "page", ["app_pages/sequence_models.py", "app_pages/audio_models.py", "app_pages/transfer_learning.py", "app_pages/feature_maps.py"]
)
def test_every_other_training_page_makes_and_opens_a_fully_locked_exercise(page: str) -> None:
    instructor = app_test(page, timeout=120)
    settings = set(_controls(instructor))
    assert settings
    student_link, _ = _make_link(instructor, free=[])
    student = app_test(page, query=_query(student_link), timeout=120)
    assert not student.exception
    assert _controls(student) == {key: True for key in settings}  # the same settings, every one locked
    assert any("Every control is fixed" in caption.value for caption in student.caption)
