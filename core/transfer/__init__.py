"""Transfer learning: where the pretrained base comes from, and three ways to reuse it, compared on one split.

The base is VGG16's ImageNet convolutions when their weights can be found (a file the user
points to, the Keras cache, or a download when online: :mod:`~core.transfer.weights`), or else
the in-app *source CNN*: a small network trained here on one task (digits 0–4) and reused on
another (digits 5–9 from a handful of images: :mod:`~core.transfer.digits`). Either way the same
three modes (:mod:`~core.transfer.modes`) run on the same train/validation/test split:

1. **feature extraction** – the frozen base runs once per image; its outputs (the bottleneck
   features, :mod:`~core.transfer.features`) are cached on disk, and only the dense head trains,
   so an epoch takes milliseconds. With augmentation on, every epoch sees different images, so
   the features cannot be cached and each epoch runs the frozen base again;
2. **fine-tuning** – the base's last block is unfrozen and trained with the head at a low rate;
3. **from scratch** – the same architecture from random weights.

Training goes through :func:`core.training.train`, so every run is cached by its configuration
(which includes the weights file's content hash) and the data's fingerprint. Before a run, the
memory guard (:mod:`~core.transfer.memory`) checks the calculator's estimate against the RAM
available; :mod:`~core.transfer.imagenet` names an image's ImageNet classes with the full VGG16.
"""

from core.transfer.bases import (
    BaseSpec,
    base_model,
    prepared_dataset,
    preprocess,
    source_spec,
    vgg16_spec,
)
from core.transfer.digits import (
    DEMO_BATCH_SIZE,
    DEMO_EPOCHS,
    DEMO_PER_CLASS,
    DigitsTransferTask,
    digits_transfer_task,
    source_config,
    train_source,
)
from core.transfer.features import (
    FEATURES_NAMESPACE,
    FeaturePass,
    bottleneck_features,
    head_probabilities,
    predict_probabilities,
)
from core.transfer.imagenet import ImagenetStatus, imagenet_status, imagenet_top5
from core.transfer.memory import (
    MemoryEstimate,
    base_input_shape,
    check_memory,
    estimate_memory,
    estimate_table,
    homework_case_summary,
    refusals,
)
from core.transfer.modes import (
    DEFAULT_LEARNING_RATES,
    MODE_LABELS,
    MODES,
    ModeResult,
    cached_mode,
    comparison_rows,
    mode_config,
    mode_inputs,
    run_mode,
    verdict,
)
from core.transfer.weights import (
    CLASS_INDEX_FILE,
    FULL_WEIGHTS_FILE,
    NOTOP_WEIGHTS_FILE,
    PREFETCH_COMMAND,
    WEIGHTS_ENV,
    WeightsStatus,
    check_vgg16_weights,
    file_digest,
    keras_cache_weights_path,
    locate_vgg16_weights,
    resolve_vgg16_weights,
    store_uploaded_weights,
)

__all__ = [
    "BaseSpec", "base_model", "prepared_dataset", "preprocess", "source_spec", "vgg16_spec",
    "DEMO_BATCH_SIZE", "DEMO_EPOCHS", "DEMO_PER_CLASS", "DigitsTransferTask", "digits_transfer_task", "source_config", "train_source",
    "FEATURES_NAMESPACE", "FeaturePass", "bottleneck_features", "head_probabilities", "predict_probabilities",
    "ImagenetStatus", "imagenet_status", "imagenet_top5",
    "MemoryEstimate", "base_input_shape", "check_memory", "estimate_memory", "estimate_table", "homework_case_summary",
    "refusals",
    "DEFAULT_LEARNING_RATES", "MODE_LABELS", "MODES", "ModeResult", "cached_mode", "comparison_rows", "mode_config", "mode_inputs",
    "run_mode", "verdict",
    "CLASS_INDEX_FILE", "FULL_WEIGHTS_FILE", "NOTOP_WEIGHTS_FILE", "PREFETCH_COMMAND", "WEIGHTS_ENV", "WeightsStatus",
    "check_vgg16_weights", "file_digest", "keras_cache_weights_path", "locate_vgg16_weights", "resolve_vgg16_weights",
    "store_uploaded_weights",
]
