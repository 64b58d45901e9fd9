"""Shared fixtures: every test gets its own empty cache, no data directory and no network."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()

# Keep TensorFlow quiet and single-process friendly before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache directory and Keras home, no data directory, and downloads switched off."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("DLLAB_CACHE_DIR", str(cache))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
    monkeypatch.setenv("DLLAB_OFFLINE", "1")
    monkeypatch.delenv("DLLAB_DATA_DIR", raising=False)
    monkeypatch.chdir(ROOT)
    return cache


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip on a user's fresh clone."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real datasets not present at {SHARED_DATA} (only developers and CI have them)")
    return SHARED_DATA


def run_in_a_fresh_process(script: str, *, timeout: float = 300) -> str:
    """Run ``script`` in a new Python process, as a server that just started would, with ``tests/``
    importable; its stdout, ending in a ``HEAVY [...]`` line naming which of TensorFlow and Keras it imported."""
    import subprocess
    import sys
    import textwrap

    body = (
        f"import sys\nsys.path.insert(0, {str(ROOT / 'tests')!r})\n{textwrap.dedent(script)}\n"
        'print("HEAVY", sorted(name for name in ("tensorflow", "keras") if name in sys.modules))\n'
    )
    completed = subprocess.run([sys.executable, "-c", body], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def app_test(page: str | None = None, *, timeout: float = 60, query: dict[str, str] | None = None):
    """An AppTest of the whole app (router and sidebar included), switched to ``page`` and run.

    ``query`` opens the page from a pasted link: the query is set before the page's first run,
    as a browser following the link would.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    if query:
        at.query_params.update(query)
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


# ---------------------------------------------------------------------------------------------
# A trained run that bad input must not cost (tests/test_reliability.py, tests/test_hostile_inputs.py)

CIFAR_PAGE = "app_pages/cifar_cnn.py"


def baseline_settings():
    """The CIFAR page's smallest run: ten fallback images per class, one epoch."""
    from core.cifar import LabSettings

    return LabSettings(per_class=10, epochs=1)


def cifar_page(timeout: float = 60):
    """The CIFAR page set to the baseline run's settings."""
    settings_ = baseline_settings()
    at = app_test(CIFAR_PAGE, timeout=timeout)
    at.number_input(key="per_class").set_value(settings_.per_class).run()
    at.number_input(key="epochs").set_value(settings_.epochs).run()
    return at


def baseline_dataset():
    """The data the baseline run trains on."""
    from core.datasets import load_dataset

    settings_ = baseline_settings()
    return load_dataset(settings_.dataset, per_class=settings_.per_class, seed=settings_.seed)


def baseline_run():
    """The cached baseline run, or ``None``."""
    from core.training import cached_result

    return cached_result(baseline_settings().train_config(), baseline_dataset())


@pytest.fixture(scope="session")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding one CIFAR-page run, trained once through the page and copied into each test that asks."""
    from core.cache import DiskCache
    from core.training import list_cached_runs

    root = tmp_path_factory.mktemp("template_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLLAB_CACHE_DIR", str(root))
        patch.setenv("DLLAB_OFFLINE", "1")
        patch.delenv("DLLAB_DATA_DIR", raising=False)
        at = cifar_page(timeout=180)
        at.button(key="train").click().run()
        assert not at.exception and len(list_cached_runs(cache=DiskCache(root))) == 1
    return root


@pytest.fixture
def baseline(trained_template: Path):
    """This test's cache starts with the template's trained run; returns that run."""
    import shutil

    from core import settings as dllab_settings

    shutil.copytree(trained_template, dllab_settings.cache_dir(), dirs_exist_ok=True)
    result = baseline_run()
    assert result is not None
    return result


@pytest.fixture(scope="session")
def digits_source_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache holding the offline transfer demo's source CNN, trained once with the page's settings.

    The source task (digits 0–4, each at 8 places) does not depend on the page's images-per-class
    slider, so one trained source serves every transfer test; training it is most of their time.
    """
    from core import transfer

    root = tmp_path_factory.mktemp("digits_source_cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DLLAB_CACHE_DIR", str(root))
        patch.setenv("DLLAB_OFFLINE", "1")
        patch.delenv("DLLAB_DATA_DIR", raising=False)
        transfer.train_source(transfer.digits_transfer_task().source)
    return root


@pytest.fixture
def digits_source(digits_source_template: Path):
    """This test's cache starts with the demo's trained source CNN; returns that run."""
    import shutil

    from core import settings as dllab_settings
    from core import transfer
    from core.training import cached_result

    shutil.copytree(digits_source_template, dllab_settings.cache_dir(), dirs_exist_ok=True)
    run = cached_result(transfer.source_config(), transfer.digits_transfer_task().source)
    assert run is not None
    return run


def assert_baseline_intact(before) -> None:
    """The run trained before the bad input is still cached, with the same numbers, and its model loads."""
    from core.training import load_model

    after = baseline_run()
    assert after is not None, "the bad input cost the cached run"
    assert after.key == before.key and after.test_accuracy == before.test_accuracy
    assert load_model(after).count_params() == before.params
