"""'Same settings, new seeds': train the current configuration with five seeds and show how far one run can be trusted.

The five runs go through the one Train button helper (:func:`ui.training.training_section`),
so they queue, show progress, cancel and cache like any other run. The first seed is the page's
own, so the single run the student already has is one of the five and is not trained again.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from core import charts
from core.datasets import Dataset
from core.seeds import SEED_COUNT, SeedSpread, seed_spread, seed_variants, what_the_seed_changes
from core.training import RunResult, TrainConfig, cached_result
from ui.render_memo import chart_spec
from ui.shareable import is_free
from ui.training import Planned, training_section


def seed_section(configs: Mapping[str, TrainConfig], dataset: Dataset, *, key: str = "seeds") -> SeedSpread | None:
    """The 'Same settings, new seeds' expander for the page's current run(s), by display name; returns the spread once all seeds ran.

    With several runs (the sequence and audio pages train a few models at once) the student picks
    which one to repeat: five seeds of every model would be many runs for a class server to queue.
    """
    # In an exercise that fixes the seed, five seeds would be five runs at seeds the student may not choose.
    if not configs or not is_free("seed"):
        return None
    names = list(configs)
    with st.expander("Same settings, new seeds: is one run a result?", icon=":material/casino:"):
        name = names[0] if len(names) == 1 else st.selectbox("Model to repeat", names, key=f"{key}_model")
        config = configs[name]
        variants = seed_variants(config)
        seeds = [variant.seed for variant in variants]
        st.markdown(
            f"Train these settings {SEED_COUNT} times, with seeds {seeds[0]}–{seeds[-1]}: new seeds for "
            f"{what_the_seed_changes(config)}; the same data. Seed {seeds[0]} is your single run."
        )
        # One cache read per seed and script run, shared by the caption, the button's label and the Train helper.
        lookups = [functools.cache(functools.partial(cached_result, variant, dataset)) for variant in variants]
        runs = [lookup() for lookup in lookups]
        missing = sum(run is None for run in runs)
        if missing:
            _show_cached(seeds, runs)
        # Just "seed 3": the model is named right above, and the labels are listed in the page's messages.
        plan = [Planned(f"seed {variant.seed}", variant, dataset, lookup=lookup) for variant, lookup in zip(variants, lookups)]
        done = training_section(plan, key=f"{key}_train", button=_button_label(missing), start_workers_early=False, help=(
            f"Queues every seed not trained yet, like any Train click; seed {seeds[0]} is your single run, reused if it is cached."
        ))
        finished = [done[planned.label] for planned in plan if planned.label in done]
        if len(finished) < len(plan):
            return None
        spread = seed_spread(finished)
        _show_spread(spread, finished[0], dataset, key=key)
        return spread


def _button_label(missing: int) -> str:
    """'Train 5 seeds', 'Train 4 more seeds', …, or what is done when none is missing (the button is then disabled)."""
    if missing == 0:
        return f"All {SEED_COUNT} seeds trained"
    if missing == SEED_COUNT:
        return f"Train {SEED_COUNT} seeds"
    return f"Train {missing} more seed{'s' if missing > 1 else ''}"


def _show_cached(seeds: list[int], runs: list[RunResult | None]) -> None:
    """Which seeds are in the cache already, before the rest are trained."""
    cached = [f"{seed} (your single run)" if position == 0 else str(seed) for position, (seed, run) in enumerate(zip(seeds, runs)) if run is not None]
    if cached:
        st.caption(f"In the cache already: seed{'s' if len(cached) > 1 else ''} {', '.join(cached)}; {len(seeds) - len(cached)} to go.")
    else:
        st.caption(f"None of the {len(seeds)} seeds has run with these settings yet.")


def _show_spread(spread: SeedSpread, single: RunResult, dataset: Dataset, *, key: str) -> None:
    """The single run beside the mean ± spread of all seeds, every seed on a strip chart, and what it means."""
    single_seed = single.config.seed
    accuracy = spread.accuracy
    single_column, mean_column, range_column = st.columns(3)
    single_column.metric(f"Your single run (seed {single_seed})", "diverged" if single.diverged else f"{single.test_accuracy:.1%}")
    mean_column.metric(
        f"Mean of {accuracy.n} seeds" if accuracy.n == len(spread.seeds) else f"Mean of {accuracy.n} of {len(spread.seeds)} seeds",
        f"{accuracy.mean:.1%}" if accuracy.n else "—",
        help="Diverged runs are left out of the mean and the spread.",
    )
    range_column.metric(
        "Spread across seeds", f"± {accuracy.std * 100:.1f} points" if accuracy.n > 1 else "—",
        help=(
            "The sample standard deviation (dividing by n − 1) of the test accuracies, in percentage points; "
            f"from {accuracy.low:.1%} to {accuracy.high:.1%}."
        ) if accuracy.n > 1 else None,
    )
    if accuracy.n > 1:
        frame = charts.seed_frame(spread.seeds, spread.accuracies, single_seed)
        st.vega_lite_chart(chart_spec(charts.seed_spread_chart, frame, mean=accuracy.mean, std=accuracy.std), width="stretch")
    st.info(spread.reading(single_seed), icon=":material/lightbulb:")
    table = pd.DataFrame(
        {
            "seed": list(spread.seeds),
            "test accuracy": list(spread.accuracies),
            "train s": list(spread.train_seconds),
        }
    )
    st.dataframe(
        table, hide_index=True, key=f"{key}_table",
        column_config={"test accuracy": st.column_config.NumberColumn(format="percent"), "train s": st.column_config.NumberColumn(format="%.1f")},
    )
    seconds = spread.seconds
    diverged = "; an empty accuracy is a run that diverged" if spread.diverged_seeds else ""
    st.caption(
        f"Training took {seconds.mean:.1f} s ± {seconds.std:.1f} per seed on {len(dataset.x_train):,} training examples{diverged}. "
        "Every run stays in the cache, so this opens at once next time."
    )
