"""Image folders and zips as datasets, decoded once and shared by the pages that train on photos.

Both caches are bounded (``max_entries``): their keys come from what users choose or upload, and
each entry holds a decoded dataset in RAM.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import streamlit as st

from core import settings
from core.budget import WorkEstimate
from core.cache import stable_hash
from core.datasets import Dataset
from core.datasets.images import (
    is_folder_decoded,
    load_image_folder,
    load_image_zip,
    plan_image_folder,
    plan_image_zip,
)
from ui.shareable import shared_selectbox
from ui.widgets import is_prepared, mark_prepared, wait_for_click

MAX_CACHED_DATASETS = 3


def folder_signature(folder: Path) -> tuple[int, ...]:
    """Modification times of a folder and its class subfolders: adding, removing or renaming an image changes one."""
    times = [folder.stat().st_mtime_ns]
    for child in sorted(folder.iterdir()):
        if child.is_dir():
            times.append(child.stat().st_mtime_ns)
    return tuple(times)


@st.cache_resource(show_spinner="Decoding images…", max_entries=MAX_CACHED_DATASETS)
def _cached_folder_dataset(
    path: str, signature: tuple[int, ...], size: int, color: str, val: float, test: float, seed: int, float_copies: int,
    fence: str | None = None,
) -> Dataset:
    return load_image_folder(
        path, image_size=size, color=color, val_fraction=val, test_fraction=test, seed=seed,
        float_copies=float_copies, fence=Path(fence) if fence else settings.data_dir(), shown_as=Path(path).name,
    )


def folder_dataset(
    name: str, size: int, *, color: str, val: float = 0.15, test: float = 0.15, seed: int = 0, float_copies: int = 1
) -> Dataset:
    """A class-per-subfolder folder inside the data directory, decoded once per setting and folder state.

    ``name`` goes through :func:`core.settings.resolve_data_subfolder` first, so a folder outside
    the data directory raises ``ValueError`` before anything is listed or decoded; inside it, a
    symlink leading out is ignored. Decoding is budgeted from the files' headers first.
    """
    folder = settings.resolve_data_subfolder(name)
    return _decoded_folder(folder, settings.data_dir(), "in the data directory", size, color, val, test, seed, float_copies)


def flowers_dataset(size: int, *, color: str, val: float = 0.15, test: float = 0.15, seed: int = 0, float_copies: int = 1) -> Dataset | None:
    """TensorFlow's flower photos, from the data directory or the Keras cache; ``None`` until they are here.

    They are downloaded (229 MB, checked against TensorFlow Datasets' checksum) only after a click:
    opening a page, or a pasted link, never starts heavy work by itself.
    """
    from core.datasets.images import download_flowers, locate_flowers
    from core.datasets.keras_source import keras_datasets_dir, network_available, unreachable_mirror_note
    from core.download import DownloadError

    location = locate_flowers(settings.data_dir(), keras_datasets_dir())
    if location.path is None:
        what = "TensorFlow's flower photos (3,670 photos of 5 kinds of flower, 229 MB)"
        if not network_available():
            note = unreachable_mirror_note() or "This server has no network (or DLLAB_OFFLINE=1)."
            st.info(
                f"{what} are not on this server. {note} Run `python -m core.prefetch` once while online, "
                "or copy the archive's flower_photos/ folder into the data directory.",
                icon=":material/cloud_off:",
            )
            return None
        st.info(f"{what} are not on this server yet; they are downloaded once and kept for everyone.", icon=":material/download:")
        if not st.button("Download the flower photos", icon=":material/download:", key="tl_download_flowers"):
            return None
        try:
            download_flowers()
        except DownloadError as error:
            st.error(str(error), icon=":material/error:")
            return None
        location = locate_flowers(settings.data_dir(), keras_datasets_dir())
        if location.path is None:
            st.error("The flower photos were downloaded but their folder is not where it should be.", icon=":material/error:")
            return None
    where = "in the data directory" if location.where == "data directory" else "in the Keras cache"
    return _decoded_folder(location.path, location.path.parent, where, size, color, val, test, seed, float_copies)


def real_photos_reachable() -> bool:
    """True when the flower photos are on this server or can be downloaded (a network, or a classroom mirror)."""
    import os

    from core.datasets.keras_source import OFFLINE_ENV, keras_datasets_dir
    from core.download import MIRROR_ENV

    data_dir = settings.data_dir()
    return _real_photos_reachable(
        str(data_dir) if data_dir else None, str(keras_datasets_dir()), os.environ.get(MIRROR_ENV, ""), os.environ.get(OFFLINE_ENV, "")
    )


# Kept a minute per setting: on a closed network the probe can take a second and a half.
@st.cache_data(ttl=60, show_spinner=False, max_entries=16)
def _real_photos_reachable(data_dir: str | None, keras_datasets: str, mirror: str, offline: str) -> bool:
    from core.datasets.images import locate_flowers
    from core.datasets.keras_source import network_available

    del mirror, offline  # part of the key only: network_available reads them itself
    found = locate_flowers(Path(data_dir) if data_dir else None, Path(keras_datasets)).path is not None
    return found or network_available()


def _decoded_folder(
    folder: Path, fence: Path | None, where: str, size: int, color: str, val: float, test: float, seed: int, float_copies: int
) -> Dataset:
    try:
        signature = folder_signature(folder)
    except OSError as error:  # e.g. a folder the server may not read
        raise ValueError(f"{folder.name} {where} cannot be read: {error.strerror or error}") from error
    choice = stable_hash(["folder", str(folder), signature, size, color, float_copies])
    if not is_prepared(choice):
        scan, plan = plan_image_folder(
            folder, image_size=size, color=color, float_copies=float_copies, fence=fence, shown_as=folder.name
        )
        if not is_folder_decoded(scan, size, color):
            _wait(choice, plan.estimate)
    dataset = _cached_folder_dataset(
        str(folder), signature, size, color, val, test, seed, float_copies, str(fence) if fence is not None else None
    )
    mark_prepared(choice)
    return dataset


def _wait(choice: str, work: WorkEstimate) -> None:
    wait_for_click(
        choice, work, what="Decoding these images", button="Decode the images", key="decode_images",
        advice="A smaller input size, or smaller or fewer images, make it quicker.",
    )


def zip_dataset(
    data: bytes, name: str, size: int, *, color: str, val: float = 0.15, test: float = 0.15, seed: int = 0, float_copies: int = 1
) -> Dataset:
    """An uploaded zip of class folders, unpacked safely and decoded once per setting; budgeted from its headers first."""
    digest = hashlib.sha256(data).hexdigest()
    choice = stable_hash(["zip", digest, size, color, float_copies])
    if not is_prepared(choice):
        _wait(choice, plan_image_zip(data, name=name, image_size=size, color=color, float_copies=float_copies).estimate)
    dataset = _cached_zip_dataset(digest, data, name, size, color, val, test, seed, float_copies)
    mark_prepared(choice)
    return dataset


# Keyed by the upload's digest: Streamlit would otherwise hash the whole upload's bytes on every rerun.
@st.cache_resource(show_spinner="Unpacking the zip…", max_entries=MAX_CACHED_DATASETS)
def _cached_zip_dataset(
    digest: str, _data: bytes, name: str, size: int, color: str, val: float, test: float, seed: int, float_copies: int
) -> Dataset:
    return load_image_zip(
        _data, name=name, image_size=size, color=color, val_fraction=val, test_fraction=test, seed=seed,
        float_copies=float_copies,
    )


def skipped_files_notice(dataset: Dataset) -> None:
    """Say which images could not be read and how many files were not images, when there were any."""
    corrupt = dataset.extras.get("corrupt")
    if corrupt:
        with st.expander(f"{len(corrupt)} unreadable images skipped"):
            st.markdown("\n".join(f"- {message}" for message in corrupt))
    if dataset.extras.get("non_image_files"):
        st.caption(f"{dataset.extras['non_image_files']} files that are not images were skipped.")


def folder_choice(key: str, label: str, *, default: str | None = None) -> str | None:
    """A selectbox of the data directory's subfolders (kept in the URL by name); ``None`` when there are none.

    With no data directory, or an empty one, it says how to add one instead: typing a path is not
    offered, since on a shared server that would let anyone read the server's files.
    """
    data_directory = settings.data_dir()
    names = settings.data_subfolders(data_directory)
    if data_directory is None:
        st.info(settings.no_data_dir_message() + " Or upload a zip instead.", icon=":material/folder_off:")
        return None
    if not names:
        st.info(
            f"The data directory ({data_directory}) has no subfolders yet. Put a folder there with one "
            "subfolder of images per class, or upload a zip instead.",
            icon=":material/folder_off:",
        )
        return None
    chosen_default = default if default in names else names[0]
    return shared_selectbox(label, names, key=key, default=chosen_default, help=f"Folders in {data_directory}")
