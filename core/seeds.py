"""Same settings, new seeds: how much of a run's test accuracy is the luck of its seed.

One training run is one draw: another seed gives other initial weights and another order of
the batches, and the test accuracy moves. :func:`seed_variants` makes the configurations of
:data:`SEED_COUNT` draws (the current seed and the next ones, on the same data), and
:func:`seed_spread` summarises their finished runs as a mean, a spread and a sentence a student
can act on.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.models.forest import FOREST_ARCHITECTURE
from core.training import RunResult, TrainConfig

SEED_COUNT = 5

# Two settings trained once each differ by chance with a standard deviation of √2·σ (σ: one run's
# spread across seeds), so a gap under two of those, 2√2·σ ≈ 2.8·σ, is what seeds alone often do.
NOISE_MULTIPLE = 2 * math.sqrt(2)


def seed_variants(config: TrainConfig, count: int = SEED_COUNT) -> list[TrainConfig]:
    """The configuration with seeds ``config.seed``, ``config.seed + 1``, … (``count`` of them), nothing else changed.

    The first is ``config`` itself, so the run already trained with the current settings is one
    of them and comes from the cache.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be a whole number of seeds, at least 1; got {count!r}")
    return [dataclasses.replace(config, seed=config.seed + offset) for offset in range(count)]


def what_the_seed_changes(config: TrainConfig) -> str:
    """In plain words, what a new seed changes for this kind of run (the data never changes)."""
    if config.architecture == FOREST_ARCHITECTURE:
        return "which examples and features each tree draws"
    if config.augment != "none":
        return "the initial weights, the shuffling and the random flips and crops"
    return "the initial weights, the shuffling and the dropout masks"


@dataclass(frozen=True)
class Spread:
    """Mean, sample standard deviation (ddof = 1, dividing by n − 1), min and max of the finite values given."""

    n: int
    mean: float
    std: float  # NaN when fewer than two values: one number has no spread
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        """The spread of ``values``, leaving out NaN and infinite ones (diverged runs); all NaN when none is left."""
        array = np.asarray(values, dtype=float).reshape(-1)
        finite = array[np.isfinite(array)]
        if finite.size == 0:
            return cls(0, math.nan, math.nan, math.nan, math.nan)
        std = float(np.std(finite, ddof=1)) if finite.size > 1 else math.nan
        return cls(int(finite.size), float(np.mean(finite)), std, float(np.min(finite)), float(np.max(finite)))


@dataclass(frozen=True)
class SeedSpread:
    """The runs of one configuration under several seeds: the test accuracy of every seed and their spread.

    A diverged run (its loss became NaN) counts as diverged, not as a low accuracy: it is left out
    of the mean and spread and named in :meth:`reading`.
    """

    seeds: tuple[int, ...]
    accuracies: tuple[float, ...]  # test accuracy per seed, NaN for a run that diverged
    train_seconds: tuple[float, ...]
    accuracy: Spread
    seconds: Spread

    @property
    def diverged_seeds(self) -> tuple[int, ...]:
        """Seeds whose runs diverged (left out of the spread)."""
        return tuple(seed for seed, accuracy in zip(self.seeds, self.accuracies) if not math.isfinite(accuracy))

    @property
    def noise_threshold(self) -> float:
        """A gap in accuracy between two single runs that seeds alone often make (NaN without a spread)."""
        return NOISE_MULTIPLE * self.accuracy.std

    def accuracy_of(self, seed: int) -> float:
        """The test accuracy of the run with this seed (NaN if it diverged)."""
        if seed not in self.seeds:
            raise ValueError(f"seed must be one of {self.seeds}, got {seed!r}")
        return self.accuracies[self.seeds.index(seed)]

    def summary(self) -> str:
        """One line such as "Across 5 seeds: 61.2% ± 1.4 points (59.8–63.0%).", or what stands in for it when runs diverged."""
        spread, total = self.accuracy, len(self.seeds)
        if spread.n == 0:
            return f"All {total} seeds diverged: there is no accuracy to average."
        if spread.n == 1:
            return f"Only 1 of {total} seeds trained without diverging ({spread.mean:.1%}): one number has no spread."
        counted = f"{total} seeds" if spread.n == total else f"the {spread.n} of {total} seeds that did not diverge"
        return f"Across {counted}: {spread.mean:.1%} ± {spread.std * 100:.1f} points ({spread.low:.1%}–{spread.high:.1%})."

    def reading(self, single_seed: int) -> str:
        """What the spread says about the single run with ``single_seed``, in a few plain sentences for a student."""
        parts = [self.summary()]
        diverged = self.diverged_seeds
        if diverged:
            names = ", ".join(str(seed) for seed in diverged)
            parts.append(
                f"Seed{'s' if len(diverged) > 1 else ''} {names} diverged with the very same settings: "
                "whether these settings train at all depends on luck."
            )
        single = self.accuracy_of(single_seed)
        spread = self.accuracy
        if not math.isfinite(single):
            parts.append(f"Your single run (seed {single_seed}) is one of those that diverged.")
        elif spread.n >= 2:
            distance = (single - spread.mean) / spread.std if spread.std > 0 else 0.0
            if abs(distance) <= 1:
                where = "within one standard deviation of the mean: a typical seed"
            else:
                where = (
                    f"{abs(distance):.1f} standard deviations {'above' if distance > 0 else 'below'} the mean: "
                    f"{'a lucky' if distance > 0 else 'an unlucky'} seed"
                )
            parts.append(f"Your single run (seed {single_seed}) scored {single:.1%}, {where}.")
            parts.append(
                f"Between two settings trained once each, a gap under about {self.noise_threshold * 100:.1f} points "
                "is what a new seed alone can do, so it is not evidence that one setting is better."
            )
        return " ".join(parts)


def seed_spread(results: Sequence[RunResult]) -> SeedSpread:
    """The spread of test accuracy (and training time) over runs that differ only in their seed."""
    if not results:
        raise ValueError("results must hold at least one finished run; got none")
    reference = dataclasses.replace(results[0].config, seed=0)
    seeds = [result.config.seed for result in results]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"results must have one run per seed; got seeds {seeds}")
    for result in results[1:]:
        if dataclasses.replace(result.config, seed=0) != reference:
            raise ValueError("results must differ only in their seed; one run has other settings")
        if result.dataset_fingerprint != results[0].dataset_fingerprint:
            raise ValueError("results must be trained on the same data; one run used other data")
    accuracies = tuple(
        math.nan if result.diverged or not math.isfinite(result.test_accuracy) else float(result.test_accuracy)
        for result in results
    )
    seconds = tuple(float(result.train_seconds) for result in results)
    return SeedSpread(
        seeds=tuple(seeds),
        accuracies=accuracies,
        train_seconds=seconds,
        accuracy=Spread.of(accuracies),
        seconds=Spread.of(seconds),
    )
