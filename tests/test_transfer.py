"""Transfer learning core: VGG16 weights resolution, cached bottleneck features, the three modes, the memory guard."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from core import transfer
from core.homework import VGG16_BASE, dense_head
from core.calculator import analyze
from core.datasets import Dataset
from core.datasets.keras_source import keras_models_dir
from core.training import load_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def random_vgg16(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | np.ndarray]:
    """A randomly initialised VGG16 no-top, saved in Keras' legacy .h5 layout (as the real file) and in Keras 3's."""
    import h5py
    import keras
    from keras.src.legacy.saving import legacy_h5_format

    folder = tmp_path_factory.mktemp("vgg16")
    model = keras.applications.VGG16(weights=None, include_top=False)
    legacy = folder / "legacy.h5"
    with h5py.File(legacy, "w") as handle:
        legacy_h5_format.save_weights_to_hdf5_group(handle, model)
    modern = folder / "modern.weights.h5"
    model.save_weights(modern)
    return {"legacy": legacy, "modern": modern, "first_kernel": model.get_layer("block1_conv1").get_weights()[0]}


def _in_keras_cache(source: Path) -> Path:
    target = keras_models_dir() / transfer.NOTOP_WEIGHTS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)
    return target


@pytest.fixture(scope="module")
def tiny_images() -> Dataset:
    """Three classes of 32×32 colour images (bright red, green, blue blobs on noise), 8 per class."""
    rng = np.random.default_rng(0)
    images, labels = [], []
    for label in range(3):
        for _ in range(8):
            image = rng.integers(0, 60, (32, 32, 3))
            image[8:24, 8:24, label] = 230
            images.append(image)
            labels.append(label)
    x, y = np.asarray(images, dtype=np.uint8), np.asarray(labels)
    order = rng.permutation(len(x))
    x, y = x[order], y[order]
    return Dataset("tiny", x[:12], y[:12], x[18:], y[18:], ("r", "g", "b"), "test blobs", x_val=x[12:18], y_val=y[12:18])


def test_preprocess_matches_keras_vgg16() -> None:
    import keras

    images = np.random.default_rng(1).integers(0, 256, (2, 5, 5, 3)).astype(np.uint8)
    expected = keras.applications.vgg16.preprocess_input(images.astype(np.float32))
    np.testing.assert_allclose(transfer.preprocess(images, "vgg16"), np.asarray(expected), atol=1e-4)
    assert transfer.preprocess(images[..., :1], "vgg16").shape == (2, 5, 5, 3)
    np.testing.assert_allclose(transfer.preprocess(images, "small_cnn"), images / 255.0, atol=1e-6)


def test_missing_weights_status_says_how_to_fix() -> None:
    status = transfer.resolve_vgg16_weights()
    assert not status.available and status.path is None
    assert transfer.NOTOP_WEIGHTS_FILE in status.message
    assert transfer.PREFETCH_COMMAND in status.message
    assert str(keras_models_dir()) in status.message
    assert not transfer.vgg16_spec(status).pretrained
    missing = transfer.resolve_vgg16_weights("/nowhere/w.h5")
    assert not missing.available and "/nowhere/w.h5" in missing.message


def test_weights_from_the_keras_cache_load_through_the_app(random_vgg16) -> None:
    from core.models import build_model

    cached = _in_keras_cache(random_vgg16["legacy"])
    status = transfer.resolve_vgg16_weights()
    assert status.available and status.origin == "Keras cache" and status.path == cached
    assert status.digest == transfer.file_digest(random_vgg16["legacy"])
    spec = transfer.vgg16_spec(status)
    model = build_model("transfer_full", (32, 32, 3), 3, weights_path=spec.weights_path, trainable="none")
    loaded = model.get_layer("base").get_layer("block1_conv1").get_weights()[0]
    np.testing.assert_array_equal(loaded, random_vgg16["first_kernel"])


def test_user_weights_file_wins_in_either_format(random_vgg16, tmp_path: Path) -> None:
    from core.models.transfer import load_base_weights, vgg16_base

    user_file = tmp_path / "my_vgg.h5"
    shutil.copy(random_vgg16["modern"], user_file)  # Keras 3 layout under a plain .h5 name
    status = transfer.resolve_vgg16_weights(user_file)
    assert status.available and status.origin == "your file"
    base = vgg16_base((32, 32, 3))
    load_base_weights(base, user_file)
    np.testing.assert_array_equal(base.get_layer("block1_conv1").get_weights()[0], random_vgg16["first_kernel"])


def test_uploaded_weights_are_checked(random_vgg16) -> None:
    with pytest.raises(ValueError, match="not an HDF5"):
        transfer.store_uploaded_weights(b"not weights at all", name="fake.h5")
    stored = transfer.store_uploaded_weights(random_vgg16["legacy"].read_bytes(), name="vgg.h5")
    assert stored.is_file() and transfer.resolve_vgg16_weights(stored).available
    import h5py

    wrong = stored.parent / "wrong.h5"
    with h5py.File(wrong, "w") as handle:
        handle.attrs["layer_names"] = [b"dense"]
        handle.create_group("dense").attrs["weight_names"] = [b"kernel"]
        handle["dense"]["kernel"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match="wrong.h5"):
        transfer.store_uploaded_weights(wrong.read_bytes(), name="wrong.h5")


def test_bottleneck_features_cached_and_reused(random_vgg16, tiny_images) -> None:
    spec = transfer.vgg16_spec(transfer.resolve_vgg16_weights(random_vgg16["legacy"]))
    data = transfer.prepared_dataset(tiny_images, "vgg16")
    features, first = transfer.bottleneck_features(spec, data)
    assert not first.from_cache and first.feature_shape == (1, 1, 512)
    assert features.x_train.shape == (12, 1, 1, 512) and features.x_val.shape == (6, 1, 1, 512)
    again, second = transfer.bottleneck_features(spec, data)
    assert second.from_cache
    np.testing.assert_array_equal(again.x_test, features.x_test)
    # Different weights are a different key: random weights recompute.
    _, other = transfer.bottleneck_features(transfer.vgg16_spec(transfer.resolve_vgg16_weights()), data)
    assert not other.from_cache


def test_three_modes_run_end_to_end_and_cache(random_vgg16, tiny_images) -> None:
    spec = transfer.vgg16_spec(transfer.resolve_vgg16_weights(random_vgg16["legacy"]))
    options = dict(epochs=1, batch_size=8)
    results = [transfer.run_mode(mode, tiny_images, spec, **options) for mode in transfer.MODES]
    frozen, fine, scratch = (result.run for result in results)
    assert all(run.status == "ok" for run in (frozen, fine, scratch))
    assert results[0].cached_features and frozen.config.architecture == "transfer_head"
    # Only the head trains when frozen; fine-tuning adds block5's 3 convs; from scratch trains all of VGG16.
    head = 512 * 256 + 256 + 256 * 256 + 256 + 256 * 3 + 3
    block5 = 3 * (3 * 3 * 512 * 512 + 512)
    assert frozen.trainable_params == head
    assert fine.trainable_params == head + block5
    assert scratch.trainable_params == head + 14_714_688
    assert fine.config.model_kwargs["weights_digest"] == spec.weights_digest
    assert scratch.config.model_kwargs["weights_path"] is None
    assert {row["mode"] for row in transfer.comparison_rows(results)} == set(transfer.MODE_LABELS.values())
    # Cached runs come back without training; the head predicts through the base.
    found = transfer.cached_mode("feature_extraction", tiny_images, spec, **options)
    assert found is not None and found.run.from_cache and found.run.key == frozen.key
    probabilities = transfer.head_probabilities(load_model(frozen), tiny_images.x_test[:2], spec)
    assert probabilities.shape == (2, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    full = transfer.predict_probabilities(load_model(fine), tiny_images.x_test[:2], spec)
    np.testing.assert_allclose(full, fine.test_predictions[:2], atol=1e-4)


def test_augmented_feature_extraction_cannot_use_cached_features(random_vgg16, tiny_images) -> None:
    spec = transfer.vgg16_spec(transfer.resolve_vgg16_weights(random_vgg16["legacy"]))
    config = transfer.mode_config("feature_extraction", spec, epochs=1, batch_size=8, augment=("zoom", "flip"))
    assert config.architecture == "transfer_full" and config.model_kwargs["trainable"] == "none"
    assert config.model_kwargs["augment"] == ("flip", "zoom")
    result = transfer.run_mode("feature_extraction", tiny_images, spec, epochs=1, batch_size=8, augment=("flip",))
    assert not result.cached_features and result.feature_pass is None
    model = load_model(result.run)
    assert "augment_flip" in [layer.name for layer in model.layers]
    assert result.run.trainable_params == 512 * 256 + 256 + 256 * 256 + 256 + 256 * 3 + 3


def test_offline_digits_demo_transfers_and_states_the_result(digits_source) -> None:
    task = transfer.digits_transfer_task(per_class=5)
    assert task.target.class_names == ("5", "6", "7", "8", "9")
    assert task.target.class_counts("train") == {str(d): 5 for d in range(5, 10)}
    assert set(np.unique(task.source.y_train)) == {0, 1, 2, 3, 4}
    source = transfer.train_source(task.source)
    assert source.key == digits_source.key and source.from_cache  # the page's source run, trained once per session
    assert source.test_accuracy > 0.8  # digits 0–4 are easy; the base really learned something
    spec = transfer.source_spec(source)
    assert spec.kind == "small_cnn" and spec.pretrained and spec.weights_digest == source.key
    results = [transfer.run_mode(mode, task.target, spec, epochs=3, batch_size=16) for mode in ("feature_extraction", "from_scratch")]
    sentence = transfer.verdict(results, per_class=5)
    for result in results:
        assert f"{result.run.test_accuracy:.1%}" in sentence
    assert "5 training images per class" in sentence
    with pytest.raises(ValueError, match="per_class"):
        transfer.digits_transfer_task(per_class=1)


def test_digits_demo_places_whole_digits_and_shares_one_source_task_across_the_slider() -> None:
    from sklearn.datasets import load_digits

    few, many = transfer.digits_transfer_task(per_class=3), transfer.digits_transfer_task(per_class=30)
    # One source task for every slider position, so the source CNN trains once.
    assert few.source.fingerprint == many.source.fingerprint
    assert few.source.input_shape == few.target.input_shape == (16, 16, 1)
    source_digits = int((load_digits().target < 5).sum())
    assert len(few.source.x_train) == 8 * (source_digits - len(few.source.x_test))  # 8 places per training digit
    # Every digit is pasted whole: its ink equals the 8×8 original's, and it fits in an 8×8 window.
    originals = np.round(load_digits().images * (255 / 16)).astype(np.uint8)
    ink_of_originals = sorted(int(image.sum()) for image, label in zip(originals, load_digits().target) if label >= 5)
    target = few.target
    placed = np.concatenate([target.x_train, target.x_val, target.x_test])
    assert sorted(int(image.sum()) for image in placed) == ink_of_originals
    for image in placed[:50]:
        rows, cols = np.nonzero(image[..., 0])
        assert rows.max() - rows.min() < 8 and cols.max() - cols.min() < 8
    # The slider only moves images between train and test; a test image stays where it was.
    assert {image.tobytes() for image in many.target.x_test} <= {image.tobytes() for image in target.x_test}


def test_vgg16_calculator_layers_match_keras() -> None:
    import keras

    report = analyze((64, 64, 3), VGG16_BASE)
    model = keras.applications.VGG16(weights=None, include_top=False, input_shape=(64, 64, 3))
    assert report.total_params == model.count_params() == 14_714_688
    assert report.output_shape == tuple(model.output_shape[1:]) == (2, 2, 512)


def test_memory_guard_refuses_cs577_homework_4s_500px_case() -> None:
    estimate = transfer.estimate_memory("vgg16", (500, 500, 3), num_classes=2, batch_size=32, mode="from_scratch", images=600)
    full = analyze((500, 500, 3), [*VGG16_BASE, *dense_head(2)], batch_size=32)
    assert estimate.parts["whole network training"] == full.training_bytes
    assert estimate.parts["image arrays (float32, ×2 for tf.data)"] == 2 * 600 * 500 * 500 * 3 * 4
    with pytest.raises(ValueError, match=r"500×500×3, batch 32, needs about .* GB of RAM but only 8\.0 GB"):
        transfer.check_memory(estimate, 8_000_000_000)
    small = transfer.estimate_memory("vgg16", (64, 64, 3), num_classes=2, batch_size=32, mode="from_scratch", images=600)
    transfer.check_memory(small, 8_000_000_000)
    transfer.check_memory(estimate, None)  # unknown RAM: allowed
    # Frozen layers run forward only: weights plus the largest input+output pair of the batch.
    frozen = transfer.estimate_memory("small_cnn", (8, 8, 1), num_classes=5, batch_size=2, mode="feature_extraction")
    base_weights = ((9 * 1 + 1) * 32 + (9 * 32 + 1) * 32 + (9 * 32 + 1) * 64 + (9 * 64 + 1) * 64) * 4
    widest_pair = 8 * 8 * 32 + 8 * 8 * 32  # conv2 reads 8×8×32 and writes 8×8×32
    assert frozen.parts["frozen base, forward only"] == base_weights + 2 * widest_pair * 4
    assert frozen.total_bytes < estimate.total_bytes


def test_cats_dogs_cnn_has_4737473_params() -> None:
    from core.models import build_model

    model = build_model("cats_dogs_cnn", (200, 200, 1), 2)
    assert model.count_params() == 4_737_473
    assert model.output_shape == (None, 1)
    with pytest.raises(ValueError, match="binary"):
        build_model("cats_dogs_cnn", (200, 200, 1), 3)


def test_imagenet_top5_says_what_is_missing() -> None:
    status = transfer.imagenet_status()
    assert not status.available
    assert transfer.FULL_WEIGHTS_FILE in status.message and transfer.CLASS_INDEX_FILE in status.message
    assert transfer.PREFETCH_COMMAND in status.message
    with pytest.raises(ValueError, match="ImageNet top-5 needs"):
        transfer.imagenet_top5(np.zeros((8, 8, 3), np.uint8), status)


def test_memory_guard_helpers_say_which_modes_fit_and_why() -> None:
    from core.models.transfer import last_block

    assert (last_block("vgg16"), last_block("small_cnn")) == ("block5", "block2")
    assert transfer.base_input_shape("vgg16", (64, 64, 1)) == (64, 64, 3)
    assert transfer.base_input_shape("small_cnn", (8, 8, 1)) == (8, 8, 1)
    estimates = {
        mode: transfer.estimate_memory("vgg16", (500, 500, 3), num_classes=2, batch_size=32, mode=mode, images=600)
        for mode in transfer.MODES
    }
    # Fine-tuning freezes everything before block5: the calculator's count of those 14 layers.
    frozen = analyze((500, 500, 3), VGG16_BASE[:14], batch_size=32)
    assert estimates["fine_tune"].parts["frozen blocks, forward only"] == frozen.weight_bytes + 32 * (
        frozen.inference_peak_bytes - frozen.weight_bytes
    )
    refused = transfer.refusals(estimates, 10_000_000_000)  # frozen base and fine-tuning ≈ 8.5 GB, from scratch ≈ 14 GB
    assert set(refused) == {"from_scratch"} and "10.0 GB" in refused["from_scratch"]
    assert transfer.refusals(estimates, None) == {}
    rows = transfer.estimate_table(estimates)
    assert [row["mode"] for row in rows] == [transfer.MODE_LABELS[mode] for mode in transfer.MODES]
    assert all(row["total"].endswith("GB") for row in rows)
    summary, here = transfer.homework_case_summary(10_000_000_000)
    assert summary.startswith("**CS-577 Homework 4's case** – VGG16 at 500×500, batch 32, 600 images")
    assert here == "With 10.0 GB available here, the guard would refuse: from scratch (random weights)."
    assert transfer.homework_case_summary(None)[1] is None
