"""The "What mattered" section: every cached run of a page, its settings against test accuracy, and how much each setting explains.

The numbers come from :mod:`core.importance` and the chart from :mod:`core.charts`; this module
only lays them out and says, in plain words, what they can and cannot tell a student.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from core import charts
from core.importance import (
    ImportanceReport,
    Setting,
    importance_caution,
    run_settings,
    setting_importance,
    settings_changed_together,
    varying_settings,
)
from core.training import RunResult
from ui.render_memo import chart_spec
from ui.exercise import runs_students_may_see

EXPLANATION = (
    "A random forest learned to predict each run's test accuracy from its settings. A setting's **importance** is "
    "how much the forest relied on it to make that prediction across these runs; the importances add up to 100%. "
    "It is not proof that the setting *causes* the difference: a setting that always changed together with another "
    "shares the credit with it, and settings never varied here cannot show up at all. The **correlation** (for settings "
    "that are numbers) says the direction: positive when larger values went with higher accuracy, negative when "
    "they went with lower accuracy. A setting whose best value lies in the middle (a learning rate neither too small "
    "nor too large) can matter a lot and still have a correlation near 0. If the **seed** ranks near the top, "
    "much of the difference between these runs is chance."
)


# Many students open a page at once; the same runs give the same forest, so it is fitted once.
@st.cache_data(show_spinner=False, max_entries=64)
def _importance(rows: Sequence[Mapping[str, Setting]], accuracies: Sequence[float]) -> ImportanceReport:
    """:func:`core.importance.setting_importance`, computed once per set of runs for every session."""
    return setting_importance(rows, accuracies)


def what_mattered_section(runs: Sequence[RunResult], *, key: str) -> None:
    """Every given run's settings against its test accuracy (chart), how much each setting explains it (table), and when not to trust it."""
    st.subheader("What mattered")
    runs = runs_students_may_see(runs)
    if len(runs) < 2:
        st.info(
            "Train at least two runs with different settings and this section shows which settings went with "
            "higher test accuracy.",
            icon=":material/insights:",
        )
        return
    # Off until asked for: with a class's hundreds of runs the chart is a megabyte for each student.
    if not st.toggle(
        f"Compare all {len(runs)} runs: which settings went with higher test accuracy?", key=f"{key}_show",
        help="A chart of every run's settings against its test accuracy, and how much each setting explains it.",
    ):
        return
    rows = [run_settings(run) for run in runs]
    accuracies = [float(run.test_accuracy) for run in runs]
    varying = varying_settings(rows)
    if not varying[0]:
        st.info(
            f"All {len(runs)} runs here have the same settings, so there is nothing to compare yet. "
            "Change a setting and train again.",
            icon=":material/insights:",
        )
        return
    report = _importance(rows, accuracies)
    if report.runs < 2:
        st.info(f"No comparison to show: {report.problem}.", icon=":material/info:")
        return
    st.caption(f"All {len(runs)} runs on this data so far. The settings that differ between them: {', '.join(varying[0])}.")
    frame = charts.parallel_coordinates_frame(rows, accuracies, runs=[run.key[:6] for run in runs])
    st.vega_lite_chart(chart_spec(charts.parallel_coordinates_chart, frame), width="stretch", key=f"{key}_chart")
    st.caption(
        "Each line is one run, from its settings on the left to its test accuracy on the right. A number's axis "
        "runs from its smallest value (bottom) to its largest (top), the learning rate on a log scale; a category's "
        "values are spread evenly."
    )
    if report.left_out:
        st.caption(f"{report.left_out} run(s) have no test accuracy (not a number) and are left out of the chart and the table.")
    if not report.measured:
        st.info(f"No importance to show: {report.problem}.", icon=":material/info:")
        return
    table = pd.DataFrame(
        [
            {
                "setting": item.setting,
                "importance": item.importance,
                "correlation": item.correlation,
                "kind": "number" if item.numeric else "category",
                "values tried": item.distinct_values,
            }
            for item in report.settings
        ]
    )
    st.dataframe(
        table,
        hide_index=True,
        key=f"{key}_table",
        column_config={
            "importance": st.column_config.ProgressColumn(
                "importance", min_value=0.0, max_value=1.0, format="percent",
                help="The setting's share of what the forest used to predict the accuracy; the column adds up to 100%.",
            ),
            "correlation": st.column_config.NumberColumn(
                "correlation", format="%+.2f",
                help="Spearman rank correlation with test accuracy, from -1 to +1; empty for a category, whose values have no order.",
            ),
        },
    )
    caution = importance_caution(report.runs, len(report.settings))
    if caution:
        st.warning(caution, icon=":material/warning:")
    together = settings_changed_together([row for row, accuracy in zip(rows, accuracies) if math.isfinite(accuracy)])
    if together:
        pairs = "; ".join(f"{first} and {second}" for first, second in together)
        st.caption(f"Always changed together in these runs, so their effects cannot be told apart: {pairs}.")
    st.markdown(EXPLANATION)
