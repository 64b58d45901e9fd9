"""Datasets, one loader per source: ``load_dataset(name, data_dir=...)`` tries local files, then Keras, then an offline default.

Every loader follows the same order so a class without network still gets a working page:

1. the dataset in its standard on-disk format inside the data directory (``DLLAB_DATA_DIR``);
2. the Keras cache (``~/.keras/datasets`` or ``$KERAS_HOME/datasets``);
3. a Keras download, only when the network answers;
4. a small built-in fallback, whose ``source`` says plainly that it is not the real dataset.

The types, the registry and the shared helpers live in :mod:`core.datasets.base`, which the
loaders import; this package only re-exports them and imports the loaders so they register.
Images are ``uint8`` arrays shaped ``(N, H, W, C)``, channels last, even for grayscale.
"""

from core.datasets import audio, cifar, digits, images, mnist  # noqa: F401 - loaders register themselves
from core.datasets.base import (
    Dataset,
    DatasetError,
    Location,
    check_split_fractions,
    dataset_names,
    load_dataset,
    nonempty_file,
    register_loader,
    stratified_split,
    subsample,
    subsample_per_class,
)

__all__ = [
    "Dataset",
    "DatasetError",
    "Location",
    "check_split_fractions",
    "dataset_names",
    "load_dataset",
    "nonempty_file",
    "register_loader",
    "stratified_split",
    "subsample",
    "subsample_per_class",
]
