"""Class exercises on the training pages: the question, locked controls, pass/fail badges, the class board.

- The router calls :func:`apply_exercise_link` on every run. It reads the page's link and, for a
  correctly signed exercise of this page, tells ``ui.shareable`` which controls to lock.
- A training page calls :func:`exercise_header` under its title (the question, the goal and a
  nickname box, or the notice that a tampered link opened the page unlocked) and
  :func:`exercise_footer` at its end (the answer, the class board, and "Make an exercise").
- ``ui.training`` calls :func:`judge_runs` with every result it shows: each gets a pass/fail badge,
  and in an exercise it goes onto the class board.

The signing, goal, board and answer are plain Python in :mod:`core.exercise`.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Collection, Mapping, Sequence
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from core import exercise as exercises
from core.exercise import Answer, BoardEntry, Exercise, Goal
from core.query_state import format_value
from core.training import RunResult
from ui.shareable import CONTROLS_STATE, LOCKS_STATE, SETTINGS_CLOSED
from ui.widgets import escape_markdown, show_value_error

NICKNAME_KEY = "exercise_nickname"
MAKER_OPEN = "exercise_make_open"  # the "Make an exercise" expander: open (its form is drawn) or closed
_ACTIVE = "dllab_exercise"  # session state: (Exercise, is the instructor) for this run, or absent
_PROBLEM = "dllab_exercise_problem"  # session state: why the link's exercise was refused, this run
_SHOWN = "dllab_exercise_shown"  # session state: label -> RunResult, the results shown in this run
_RECORDED = "dllab_exercise_recorded"  # session state: (exercise id, run key) -> nickname it is on the board under
_MADE = "dllab_exercise_made"  # session state: the links the last "Make" click produced
_FREE_SLOT = "dllab_exercise_free_slot"  # session state: the header's line naming the free controls, this run
_BOARD_SLOT = "dllab_exercise_board_slot"  # session state: the header's place for the board, this run
_PAGE = "dllab_exercise_page"  # session state: the page this run draws, as the router named it
_LINKS = "dllab_exercise_links"  # session state: page -> the exercise parameter it was opened with
_AUTHOR = "dllab_exercise_author"  # session state: a random name for this session's board entries
_SEEN = "dllab_exercise_seen"  # session state: page -> run key -> (label, run, settings when shown), newest last
MAX_SEEN_RUNS = 30  # what "Make an exercise" offers as the reference answer
# The board re-reads its file this often; the instructor's projected board refreshes faster.
BOARD_REFRESH_SECONDS = 15.0
TEACHER_BOARD_REFRESH_SECONDS = 5.0
LOCK_CHOICES = {"locked": "shown, locked", "hidden": "hidden"}


def apply_exercise_link(page: str) -> None:
    """Read this run's link: lock the page for a valid exercise of ``page``, or note why it was refused.

    Called by the router before the page draws, so every shared control sees the locks.
    """
    state = st.session_state
    state[_PAGE] = page
    state[CONTROLS_STATE] = {}
    state[_SHOWN] = {}
    for name in (LOCKS_STATE, SETTINGS_CLOSED, _ACTIVE, _PROBLEM, _FREE_SLOT, _BOARD_SLOT):
        state.pop(name, None)
    query = st.query_params.to_dict()
    kept = state.setdefault(_LINKS, {}).get(page)
    if exercises.EXERCISE_PARAM not in query and kept is not None:
        # Moving to another page drops the link's query; coming back must not open the page unlocked.
        st.query_params.update(kept)
        query = {**query, **kept}
    if exercises.EXERCISE_PARAM not in query:
        return
    secret = exercises.server_secret()
    reading = exercises.read_exercise(query, page, secret)
    if reading.exercise is None:
        state[_PROBLEM] = reading.problem
        state[_LINKS].pop(page, None)
        return
    exercise = reading.exercise
    state[_LINKS][page] = {
        name: query[name] for name in (exercises.EXERCISE_PARAM, exercises.TEACHER_PARAM) if name in query
    }
    state[_ACTIVE] = (exercise, exercises.is_teacher(query.get(exercises.TEACHER_PARAM), exercise, secret))
    state[LOCKS_STATE] = (dict(exercise.start), frozenset(exercise.free), exercise.hide_locked)


def active_exercise() -> Exercise | None:
    """The exercise this page run is locked by, if any."""
    active = st.session_state.get(_ACTIVE)
    return active[0] if active else None


def _is_teacher() -> bool:
    active = st.session_state.get(_ACTIVE)
    return bool(active and active[1])


def exercise_header() -> None:
    """The exercise's question, goal and nickname box; or the notice that the link was refused."""
    problem = st.session_state.get(_PROBLEM)
    if problem:
        st.warning(problem, icon=":material/lock_open:")
    exercise = active_exercise()
    if exercise is None:
        return
    with st.container(border=True):
        st.markdown("##### :material/assignment: Exercise")
        st.markdown(escape_markdown(exercise.question))
        if exercise.goal.is_set:
            st.markdown(f"**Goal:** {exercise.goal.describe()}. Every run you train gets a pass or fail badge.")
        hidden = "hidden" if exercise.hide_locked else "greyed out"
        # The controls draw after this box, so their names are filled in by exercise_footer.
        st.session_state[_FREE_SLOT] = st.empty()
        st.session_state[_FREE_SLOT].caption(
            f"The instructor fixed some controls for this exercise ({hidden}); the others are yours to change."
        )
        st.text_input(
            "Your nickname on the class board (optional)", key=NICKNAME_KEY, max_chars=exercises.MAX_NICKNAME_CHARS,
            help="Shown beside your runs on this exercise's class board. Nothing else about you is kept.",
        )
        if _is_teacher():
            st.caption(":material/school: Instructor link: you can always see the answer and clear the board.")
        # Filled by exercise_footer, after this run's results are on the board, yet shown up here
        # where the instructor projects it and students look first.
        st.session_state[_BOARD_SLOT] = st.container()


def judge_runs(results: Mapping[str, RunResult], *, trained: Collection[str] = ()) -> None:
    """Badge each shown run against the exercise's goal, and put the student's own runs on the class board.

    A student's own run is one they trained (``trained`` names the labels their last click
    trained) or one they reached by changing a setting; the starting settings' run that every
    student sees on opening the link is not theirs. Every shown run is also remembered, with the
    settings it was shown at, for "Make an exercise"'s reference answer.
    """
    shown = st.session_state.setdefault(_SHOWN, {})
    # A run two sections show (the single run is also one of the five seeds) gets one badge.
    already = {result.key for result in shown.values()}
    results = {label: result for label, result in results.items() if result.key not in already}
    shown.update(results)
    settings_now = current_settings()
    for label, result in results.items():
        _remember_seen(label, result, _settings_of(result, settings_now))
    exercise = active_exercise()
    if exercise is None or not results:
        return
    nickname = exercises.clean_nickname(str(st.session_state.get(NICKNAME_KEY, "")))
    recorded = st.session_state.setdefault(_RECORDED, {})
    problem = None
    for label, result in results.items():
        changed = tuple(sorted(exercises.changed_settings(exercise, _settings_of(result, settings_now)).items()))
        # A diverged run's recorded accuracy is a constant guess (0, or the share of one class),
        # which could meet a low target; it has no accuracy worth the name.
        accuracy = math.nan if result.diverged else result.test_accuracy
        check = exercise.goal.check(accuracy=accuracy, params=result.params, seconds=result.train_seconds)
        if exercise.goal.is_set:
            figures = f"{_percent(accuracy)}, {result.params:,} parameters, {result.train_seconds:.1f} s"
            if check.passed:
                st.badge(f"{label}: goal met ({figures})", icon=":material/check_circle:", color="green")
            else:
                st.badge(f"{label}: not yet, {'; '.join(check.misses)}", icon=":material/cancel:", color="red")
        mark = (exercise.id, result.key)
        if recorded.get(mark) == nickname or not (changed or label in trained):
            continue
        entry = BoardEntry(
            nickname=nickname, run_key=result.key, label=label, changed=changed, accuracy=accuracy,
            params=result.params, seconds=result.train_seconds, passed=check.passed, at=time.time(), author=_author(),
        )
        try:
            outcome = exercises.record_run(exercise.id, entry)
        except (OSError, ValueError):
            problem = "The class board cannot be written on this server (its cache folder is read-only or full)."
            break
        if outcome == "full":
            problem = f"The class board holds {exercises.MAX_BOARD_ENTRIES} runs, its limit: this run is not on it."
        elif outcome == "too many":
            problem = f"You have {exercises.MAX_ENTRIES_PER_AUTHOR} runs on the class board, its limit per student."
        else:
            recorded[mark] = nickname
    if problem:
        st.caption(problem)


def _settings_of(result: RunResult, settings_now: Mapping[str, str]) -> dict[str, str]:
    """The settings a shown run was trained with: the controls' values, and its own seed number.

    The five-seed section shows runs whose seed differs from what its Seed box holds; every other
    setting of a shown run is the controls' (a compare sweep's runs are told apart by their label).
    """
    settings = dict(settings_now)
    if "seed" in settings and settings["seed"] != str(result.config.seed):
        settings["seed"] = str(result.config.seed)
    return settings


def _seen_here() -> dict[str, tuple[str, RunResult, dict[str, str]]]:
    """The runs this session was shown on this page, oldest first, with the settings they were shown at."""
    return st.session_state.setdefault(_SEEN, {}).setdefault(str(st.session_state.get(_PAGE, "")), {})


def _remember_seen(label: str, result: RunResult, settings: dict[str, str]) -> None:
    seen = _seen_here()
    seen.pop(result.key, None)
    seen[result.key] = (label, result, settings)
    while len(seen) > MAX_SEEN_RUNS:
        seen.pop(next(iter(seen)))


def _author() -> str:
    """A random name for this session's board entries: it lets a new nickname replace the old one, nothing more."""
    if _AUTHOR not in st.session_state:
        st.session_state[_AUTHOR] = secrets.token_hex(8)
    return st.session_state[_AUTHOR]


def runs_students_may_see(runs: Sequence[RunResult]) -> list[RunResult]:
    """``runs`` without the exercise's reference run when students may not reveal it.

    The runs table and "What mattered" list every run on the server, the instructor's answer
    among them; in an exercise with a hidden answer they leave it out.
    """
    exercise = active_exercise()
    if exercise is None or not exercise.has_answer or exercise.answer_visible or _is_teacher():
        return list(runs)
    answer = exercises.load_answer(exercise)
    return [run for run in runs if answer is None or run.key != answer.run_key]


def current_settings() -> dict[str, str]:
    """The query text of every shared control drawn in this run, as a link would hold it."""
    controls = st.session_state.get(CONTROLS_STATE, {})
    return {key: format_value(st.session_state[key]) for key in controls if st.session_state.get(key) is not None}


def exercise_footer() -> None:
    """The answer and the class board in an exercise; "Make an exercise" outside one (and for the instructor)."""
    exercise = active_exercise()
    slot = st.session_state.get(_BOARD_SLOT)
    if exercise is not None and slot is not None:
        _name_free_controls(exercise)
        with slot:
            st.markdown("**:material/leaderboard: Class board**")
            _class_board(exercise, _is_teacher())
            _answer_section(exercise)
    if exercise is None or _is_teacher():
        _make_exercise_section()


def _name_free_controls(exercise: Exercise) -> None:
    slot = st.session_state.get(_FREE_SLOT)
    labels = _labels()
    if slot is None:
        return
    free = [escape_markdown(labels.get(key, key)) for key in exercise.free]
    hidden = "hidden" if exercise.hide_locked else "greyed out"
    yours = f"Yours to change: **{', '.join(free)}**." if free else "Every control is fixed: train and compare."
    slot.caption(f"{yours} The instructor fixed the others for this exercise ({hidden}).")


def _labels() -> dict[str, str]:
    """Each shared control's label by its query key, as drawn in this run."""
    return dict(st.session_state.get(CONTROLS_STATE, {}))


def _answer_section(exercise: Exercise) -> None:
    if not exercise.has_answer or not (exercise.answer_visible or _is_teacher()):
        return
    if not st.toggle("Show the answer", key="exercise_show_answer", help="The instructor's reference run for this exercise."):
        return
    answer = exercises.load_answer(exercise)
    if answer is None:
        st.info("This server does not hold the answer to this exercise (it was made on another server, or removed).")
        return
    differs = exercises.changed_settings(exercise, dict(answer.settings))
    check = exercise.goal.check(accuracy=answer.accuracy, params=answer.params, seconds=answer.seconds)
    with st.container(border=True):
        st.markdown(
            f"**Reference answer** ({escape_markdown(answer.label)}): {_percent(answer.accuracy)} test accuracy, "
            f"{answer.params:,} parameters, {answer.seconds:.1f} s of training"
            + (", which meets the goal." if check.passed and exercise.goal.is_set else ".")
        )
        if differs:
            st.dataframe(
                pd.DataFrame({"setting": [_labels().get(key, key) for key in differs],
                              "start": [dict(exercise.start).get(key, "") for key in differs],
                              "answer": list(differs.values())}),
                hide_index=True,
            )
        else:
            st.caption("The answer uses the exercise's starting settings.")
        base = st.context.url or ""
        st.link_button("Open the answer's settings (unlocked)", f"{base}?{urlencode(dict(answer.settings))}", icon=":material/open_in_new:")


def board_frame(entries: list[BoardEntry], goal: Goal, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The board as a table, best first; the settings column lists what each run changed from the start.

    ``labels`` names settings as the page's controls do ("Dropout" rather than "dropout").
    """
    labels = labels or {}
    # The run column tells apart the models one click trains (LSTM, GRU…); one name everywhere says nothing.
    several_models = len({entry.label for entry in entries}) > 1
    rows = []
    for place, entry in enumerate(entries, start=1):
        changed = ", ".join(f"{labels.get(key, key)} = {value}" for key, value in entry.changed) or "(the starting settings)"
        row = {"#": place, "nickname": entry.nickname or "(anonymous)"}
        if several_models:
            row["run"] = entry.label
        row["changed settings"] = changed
        if goal.is_set:
            row["goal"] = "met" if entry.passed else "not yet"
        row |= {
            "test accuracy": entry.accuracy if math.isfinite(entry.accuracy) else None,
            "params": entry.params,
            "train s": round(entry.seconds, 1),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def _class_board(exercise: Exercise, teacher: bool) -> None:
    refresh = TEACHER_BOARD_REFRESH_SECONDS if teacher else BOARD_REFRESH_SECONDS
    labels = _labels()

    @st.fragment(run_every=refresh)
    def board() -> None:
        entries = exercises.read_board(exercise.id)
        if not entries:
            st.caption("No runs yet. Every run anyone trains for this exercise appears here, best first.")
        else:
            st.dataframe(
                board_frame(entries, exercise.goal, labels),
                hide_index=True,
                column_config={
                    "test accuracy": st.column_config.NumberColumn(format="percent"),
                    "params": st.column_config.NumberColumn(format="localized"),
                },
            )
            met = sum(entry.passed for entry in entries)
            goal_note = f"; {met} met the goal" if exercise.goal.is_set else ""
            st.caption(
                f"{len(entries)} run{'s' if len(entries) != 1 else ''} on this server for this exercise{goal_note}. "
                f"Refreshes every {refresh:.0f} s."
            )
        if teacher and entries:
            # A popover, so one stray click in front of the class does not wipe the lecture's runs.
            with st.popover("Clear the board", icon=":material/delete_sweep:"):
                st.button(
                    f"Yes, remove all {len(entries)} runs from this board", key="exercise_clear_board", type="primary",
                    on_click=exercises.clear_board, args=(exercise.id,),
                    help="The trained runs stay in the cache; only this exercise's board is emptied.",
                )

    board()


def _make_exercise_section() -> None:
    controls: dict[str, str] = dict(st.session_state.get(CONTROLS_STATE, {}))
    if not controls:
        return
    seen = _seen_here()
    # Drawn only when opened: every student's every page run would otherwise build this form.
    maker = st.expander(
        "Make an exercise from these settings (for instructors)", icon=":material/assignment_add:",
        key=MAKER_OPEN, on_change="rerun",
    )
    if not maker.open:
        return
    with maker:
        st.caption(
            "Students who open the link see your question, the page at these settings with only the controls "
            "you choose unlocked, a pass/fail badge on each run, and a class board of everyone's runs."
        )
        with st.form("exercise_make_form", border=False):
            question = st.text_area(
                "Question", max_chars=exercises.MAX_QUESTION_CHARS, key="exercise_make_question",
                placeholder="Get the network above 60% test accuracy with fewer than 100,000 parameters.",
            )
            free = st.multiselect(
                "Students may change", list(controls), format_func=controls.get, key="exercise_make_free",
                help="Every other control is locked at its current value.",
            )
            hide = st.radio(
                "The other controls are", tuple(LOCK_CHOICES), format_func=LOCK_CHOICES.get, horizontal=True,
                key="exercise_make_hide",
            )
            accuracy_column, params_column, seconds_column = st.columns(3)
            min_accuracy = accuracy_column.number_input(
                "Test accuracy at least (%)", min_value=0.0, max_value=100.0, value=0.0, step=1.0,
                key="exercise_make_accuracy", help="0 = no accuracy target.",
            )
            max_params = params_column.number_input(
                "Parameters at most", min_value=0, max_value=10**12, value=0, step=10_000,
                key="exercise_make_params", help="0 = no limit.",
            )
            max_seconds = seconds_column.number_input(
                "Training seconds at most", min_value=0.0, max_value=86_400.0, value=0.0, step=10.0,
                key="exercise_make_seconds", help="0 = no limit.",
            )
            answer_key = st.selectbox(
                "Reference answer", [None, *reversed(seen)], key="exercise_make_answer",
                format_func=lambda key: "(none)" if key is None else _seen_label(*seen[key][:2]),
                help="One of the runs you have seen on this page, newest first, with the settings it was trained at; "
                "students never see it in the link. Train the answer first, then set the controls where students start.",
            )
            answer_visible = st.checkbox("Students may reveal the answer", key="exercise_make_answer_visible")
            made = st.form_submit_button("Make the exercise link", icon=":material/link:")
        if made:
            try:
                goal = Goal(
                    min_accuracy=min_accuracy / 100 if min_accuracy else None,
                    max_params=int(max_params) if max_params else None,
                    max_seconds=float(max_seconds) if max_seconds else None,
                )
                answer = _answer_of(*seen[answer_key]) if answer_key in seen else None
                exercise = Exercise(
                    page=str(st.session_state.get(_PAGE, "")),
                    question=question,
                    start=tuple(current_settings().items()),
                    free=tuple(free),
                    hide_locked=hide == "hidden",
                    goal=goal,
                    has_answer=answer is not None,
                    answer_visible=answer is not None and answer_visible,
                    made_at=int(time.time()),
                )
                if answer is not None:
                    exercises.save_answer(exercise, answer)
            except ValueError as error:
                show_value_error(error)
            except OSError:
                st.error("The answer could not be saved: this server's cache folder is read-only.", icon=":material/error:")
            else:
                st.session_state[_MADE] = _links(exercise)
        if st.session_state.get(_MADE):
            student, teacher = st.session_state[_MADE]
            st.markdown("**Link for students**")
            st.code(student, language=None, wrap_lines=True)
            st.markdown("**Your instructor link** (keep it to yourself: it can clear the board and shows the answer)")
            st.code(teacher, language=None, wrap_lines=True)
            if exercises.secret_is_temporary():
                st.warning(
                    "These links work until this server restarts: its cache folder cannot keep the signing "
                    f"secret. Set `{exercises.SECRET_ENV}` to keep them working.",
                    icon=":material/warning:",
                )


def _answer_of(label: str, result: RunResult, settings: dict[str, str]) -> Answer:
    accuracy = math.nan if result.diverged else result.test_accuracy
    return Answer(
        label=label, run_key=result.key, settings=tuple(settings.items()), accuracy=accuracy,
        params=result.params, seconds=result.train_seconds,
    )


def _seen_label(label: str, result: RunResult) -> str:
    return f"{label} · {_percent(result.test_accuracy)} · {result.params:,} parameters · run {result.key[:6]}"


def _links(exercise: Exercise) -> tuple[str, str]:
    """The student's link and the instructor's (the same plus the teacher token)."""
    secret = exercises.server_secret()
    query = exercises.link_query(exercise, secret)
    base = st.context.url or ""
    student = f"{base}?{urlencode(query)}"
    teacher = f"{base}?{urlencode({**query, exercises.TEACHER_PARAM: exercises.teacher_token(exercise, secret)})}"
    return student, teacher


def _percent(value: float) -> str:
    return f"{value:.1%}" if math.isfinite(value) else "no accuracy (diverged)"
