"""The one Train button every training page uses: the queue, progress, cancel, errors, and cached results at once.

A page describes what its current settings need as :class:`Planned` runs and calls
:func:`training_section`. Runs already in the cache come back at once, without a click; the
button queues one job with every missing run (first come, first served across the class) and,
in the run that clicked, waits for it with a progress bar that shows the place in line and an
estimate ("2nd in line, about 40 s"), then the models' progress. If the student changes a
setting meanwhile, the job goes on: the page shows it, refreshing every second, with a Cancel
button. Leaving the page (another page, or closing the tab) cancels the session's trainings.

``python -m ui.prewarm`` clicks the same buttons; it follows progress through
:func:`core.training.progress_listener`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

from core.datasets import Dataset
from core.training import (
    Job,
    ProgressCallback,
    RunRequest,
    RunResult,
    TrainConfig,
    TrainingProgress,
    cached_result,
    current_executor,
    prestart,
    run_key,
    submit,
    wait,
)
from ui.exercise import judge_runs
from ui.shareable import SETTINGS_CLOSED
from ui.widgets import show_failure, show_value_error

_JOBS = "dllab_training_jobs"  # session state: job id -> (page, train button) it belongs to
_PAGE = "dllab_current_page"  # session state: the page this script run draws, set by the router
_OUTCOME = "dllab_training_outcome"  # session state: button key -> what the last click did, shown after the rerun


@dataclass(frozen=True)
class Planned:
    """One model the page's settings call for.

    Either ``config`` and ``dataset`` are known now, or ``prepare`` makes them when the student
    clicks (the transfer page's frozen-base features, say); ``lookup`` then finds the run in the
    cache without preparing anything.
    """

    label: str
    config: TrainConfig | None = None
    dataset: Dataset | None = None
    prepare: Callable[[ProgressCallback], tuple[TrainConfig, Dataset]] | None = None
    lookup: Callable[[], RunResult | None] | None = None

    def cached(self) -> RunResult | None:
        """The finished run for these settings, if the cache has it."""
        if self.lookup is not None:
            return self.lookup()
        assert self.config is not None and self.dataset is not None
        return cached_result(self.config, self.dataset)


def training_section(
    plan: Sequence[Planned],
    *,
    key: str,
    button: str | Callable[[int], str] = "Train",
    help: str | None = None,
    start_workers_early: bool = True,
) -> dict[str, RunResult]:
    """The Train button and everything around it; returns the finished runs by label (cached ones at once).

    ``button`` is the label, or a function of how many runs are missing ("Train 3 runs").
    ``start_workers_early`` starts the training workers (and their TensorFlow) while the page is
    read, so the click trains at once; a section most students never click (the five seeds) says
    no, or every page open would load TensorFlow into the workers for nothing.
    """
    # Controls drawn from here on are views of the runs, not settings an exercise may lock.
    st.session_state[SETTINGS_CLOSED] = True
    results: dict[str, RunResult] = {}
    pending: list[Planned] = []
    for planned in plan:
        found = planned.cached()
        if found is not None:
            results[planned.label] = found
        else:
            pending.append(planned)
    if pending and start_workers_early:
        prestart()  # start the workers (and their TensorFlow) before the click, not after
    running = _active_job(key)
    label = button(max(len(pending), 1)) if callable(button) else button
    clicked = st.button(
        label, type="primary", icon=":material/play_arrow:", key=key, disabled=not pending or running is not None,
        help=help or "Trains what has not run with these settings yet; every finished run is kept in the cache.",
    )
    outcome = st.session_state.get(_OUTCOME, {}).pop(key, None)
    if running is not None:
        _follow(running.id, key)
    elif clicked and pending:
        outcome = _train(pending, key)
        if outcome.trained:
            # Run the page again from the top, so the button and everything above it see the new runs.
            st.session_state.setdefault(_OUTCOME, {})[key] = outcome
            st.rerun()
    if outcome is not None:
        outcome.show()
    if pending and running is None:
        names = ", ".join(planned.label for planned in pending)
        st.info(f"Not trained yet with these settings: {names}. Click **{label}**.", icon=":material/hourglass_empty:")
    elif not pending and outcome is None:
        st.caption("Everything has already run with these settings; the results below come from the cache.")
    judge_runs(results, trained=outcome.trained if outcome is not None else ())
    return results


@dataclass(frozen=True)
class _ClickOutcome:
    """What one Train click did: what it trained, in how long, and what failed (kept across the rerun)."""

    trained: tuple[str, ...]
    seconds: float
    failures: tuple[tuple[str, BaseException], ...]

    def show(self) -> None:
        if self.trained:
            st.success(
                f"Trained {', '.join(self.trained)} in {self.seconds:.0f} s; "
                "these settings now open at once from the cache.",
                icon=":material/check_circle:",
            )
        # One box per distinct error: a shared step (the transfer page's base) fails every run the same way.
        grouped: dict[tuple[type, str], tuple[list[str], BaseException]] = {}
        for label, error in self.failures:
            grouped.setdefault((type(error), str(error)), ([], error))[0].append(label)
        for labels, error in grouped.values():
            if isinstance(error, ValueError):
                show_value_error(error)
            else:
                show_failure(f"Training {', '.join(labels)}", error)


def _train(pending: list[Planned], key: str) -> _ClickOutcome:
    """Prepare what needs preparing, queue one job, and wait for it here with a progress bar."""
    bar = st.progress(0.0, text="Getting ready…")
    cancel = st.empty()
    started = time.perf_counter()
    failures: list[tuple[str, BaseException]] = []

    def report(progress: TrainingProgress) -> None:
        bar.progress(min(max(progress.fraction, 0.0), 1.0), text=progress.message)

    labels: dict[str, str] = {}
    requests: list[RunRequest] = []
    for planned in pending:
        try:
            config, dataset = (planned.config, planned.dataset) if planned.prepare is None else planned.prepare(report)
        except Exception as error:  # noqa: BLE001 - shown as an error box; the other runs still train
            failures.append((planned.label, error))
            continue
        labels[run_key(config, dataset)] = planned.label
        requests.append(RunRequest(config, dataset, planned.label))
    job: Job | None = None
    if requests:
        try:
            job = submit(requests, session=_session_id())
        except Exception as error:  # noqa: BLE001 - QueueFull says what to do; anything else is a failure box
            failures.append((", ".join(labels.values()), error))
    if job is not None:
        _remember(job, key)
        with cancel:
            st.button("Cancel", key=f"{key}_cancel", icon=":material/stop:", on_click=_cancel, args=(job.id,))
        wait(job, report)
        failures += [(labels.get(run, "a model"), error) for run, error in job.errors.items()]
    bar.empty()
    cancel.empty()
    trained = tuple(labels[run] for run in (job.results if job is not None else {}) if run in labels)
    return _ClickOutcome(trained, time.perf_counter() - started, tuple(failures))


@st.fragment(run_every=1.0)
def _follow(job_id: str, key: str) -> None:
    """A training that outlived the script run that started it: its place or progress, refreshed every second."""
    job = current_executor().job(job_id)
    if job is None or job.done:
        _forget(job_id)
        if job is not None:
            _keep_outcome(job, key)
        st.rerun(scope="app")  # show the results (or errors) with the rest of the page
        return
    place = current_executor().place(job)
    waiting = not job.progress
    text = f"Waiting: {place.describe()}" if waiting else f"Training: {place.describe()}"
    st.progress(job.fraction(), text=text)
    st.button("Cancel", key=f"{key}_cancel_follow", icon=":material/stop:", on_click=_cancel, args=(job.id,))


def _cancel(job_id: str) -> None:
    job = current_executor().job(job_id)
    if job is not None:
        current_executor().cancel(job)
    _forget(job_id)


def _active_job(key: str) -> Job | None:
    """This session's unfinished job for this page's button, if there is one."""
    for job_id, owner in list(st.session_state.get(_JOBS, {}).items()):
        job = current_executor().job(job_id)
        mine = owner == (_current_page(), key)
        if job is None or job.done:
            _forget(job_id)
            if job is not None and mine:
                _keep_outcome(job, key)
        elif mine:
            return job
    return None


def _keep_outcome(job: Job, key: str) -> None:
    """A job that finished after its script run: what it did, shown on the next run as after a click that waited."""
    labels = {request.key: request.label for request in job.requests}
    finished = max(job.finished_at.values(), default=job.submitted_at)
    st.session_state.setdefault(_OUTCOME, {})[key] = _ClickOutcome(
        tuple(labels[run] for run in job.results if run in labels),
        finished - job.submitted_at,
        tuple((labels.get(run, "a model"), error) for run, error in job.errors.items() if not job.cancelled),
    )


def _current_page() -> str:
    return str(st.session_state.get(_PAGE, ""))


def _remember(job: Job, key: str) -> None:
    st.session_state.setdefault(_JOBS, {})[job.id] = (_current_page(), key)
    _watch(job)


def _forget(job_id: str) -> None:
    st.session_state.get(_JOBS, {}).pop(job_id, None)


def cancel_when_leaving(page: str) -> None:
    """Note the page this run draws and cancel the session's trainings that belong to another one.

    The router calls this on every run, so going to another page stops what the last one queued
    (the results of what already finished stay in the cache).
    """
    st.session_state[_PAGE] = page
    for job_id, (owner_page, _key) in list(st.session_state.get(_JOBS, {}).items()):
        if owner_page != page:
            _cancel(job_id)


def _session_id() -> str | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    return context.session_id if context is not None else None


# ---------------------------------------------------------------------------------------------
# A closed tab: the session ends without another script run, so a watcher cancels its jobs

_watched: dict[str, Job] = {}
_watched_guard = threading.Lock()
_WATCH_SECONDS = 5.0


def _watch(job: Job) -> None:
    if job.session is None:
        return
    with _watched_guard:
        _watched[job.id] = job
        if len(_watched) == 1:
            threading.Thread(target=_watch_sessions, name="dllab-training-watch", daemon=True).start()


def _watch_sessions() -> None:
    """Every few seconds, cancel the jobs of sessions the server no longer has (a tab was closed)."""
    from streamlit.runtime import Runtime

    while True:
        time.sleep(_WATCH_SECONDS)
        with _watched_guard:
            jobs = [job for job in _watched.values() if not job.done]
            _watched.clear()
            _watched.update({job.id: job for job in jobs})
            if not jobs:
                return
        if not Runtime.exists():
            continue
        runtime = Runtime.instance()
        for job in jobs:
            if not runtime.is_active_session(job.session):
                current_executor().cancel(job)
