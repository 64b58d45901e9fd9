"""The offline stand-ins cut from scikit-learn's bundled data are made once per cache and read back unchanged."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from core import transfer
from core.datasets import load_dataset, stratified_split
from core.datasets.base import made_once
from core.datasets.digits import cached_scaled_digits, digits_arrays
from core.datasets.images import photo_patches


def test_the_offline_digits_and_photos_read_back_equal_what_scikit_learn_gives() -> None:
    made = load_dataset("mnist", allow_download=False), load_dataset("digits"), load_dataset("cats_vs_dogs")
    read_back = load_dataset("mnist", allow_download=False), load_dataset("digits"), load_dataset("cats_vs_dogs")
    digits = digits_arrays(seed=0)
    for dataset in (*made[:2], *read_back[:2]):
        for name, expected in zip(("x_train", "y_train", "x_test", "y_test"), digits):
            actual = getattr(dataset, name)
            assert actual.dtype == expected.dtype
            np.testing.assert_array_equal(actual, expected)

    x, y = photo_patches(image_size=64, color="grayscale", seed=0)
    train, val, test = stratified_split(y, val_fraction=0.15, test_fraction=0.15, seed=0)
    for photos in (made[2], read_back[2]):
        np.testing.assert_array_equal(photos.x_train, x[train])
        np.testing.assert_array_equal(photos.x_val, x[val])
        np.testing.assert_array_equal(photos.y_test, y[test])

    # The transfer page builds its task from the cached digits; it must be the same task, so the
    # trained source CNN's cache key (the datasets' fingerprints) is the same too.
    from_cache = transfer.digits_transfer_task(per_class=5, digits=cached_scaled_digits())
    direct = transfer.digits_transfer_task(per_class=5)
    assert from_cache.source.fingerprint == direct.source.fingerprint
    assert from_cache.target.fingerprint == direct.target.fingerprint


def test_a_warm_cache_shows_the_offline_data_without_importing_scikit_learn() -> None:
    # Importing scikit-learn is over a second of CPU a freshly started server pays while a class arrives.
    load_dataset("mnist", allow_download=False)
    load_dataset("cats_vs_dogs")
    load_dataset("cifar10", allow_download=False)
    cached_scaled_digits()
    script = textwrap.dedent(
        """
        import sys
        from core import transfer
        from core.datasets import load_dataset
        from core.datasets.digits import cached_scaled_digits
        for name in ("mnist", "cifar10"):
            load_dataset(name, allow_download=False)
        load_dataset("digits")
        load_dataset("cats_vs_dogs")
        transfer.digits_transfer_task(per_class=10, digits=cached_scaled_digits())
        print("sklearn" in sys.modules)
        """
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).parents[1], capture_output=True, text=True, timeout=120
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "False"


def test_each_option_and_each_change_of_the_making_code_has_its_own_entry() -> None:
    calls: list[int] = []

    def make(size: int) -> tuple[np.ndarray, ...]:
        calls.append(size)
        return np.full((size, 2), size, dtype=np.uint8), np.arange(size)

    first = made_once("test-made-once", make, size=3, sources=(make,))
    again = made_once("test-made-once", make, size=3, sources=(make,))
    bigger = made_once("test-made-once", make, size=4, sources=(make,))
    assert calls == [3, 4]
    for one, other in zip(first, again):
        np.testing.assert_array_equal(one, other)
    assert bigger[0].shape == (4, 2)

    def edited(size: int) -> tuple[np.ndarray, ...]:
        calls.append(-size)
        return np.zeros((size, 2), dtype=np.uint8), np.arange(size)

    made_once("test-made-once", edited, size=3, sources=(edited,))
    assert calls == [3, 4, -3]  # different code, so not the first function's entry
