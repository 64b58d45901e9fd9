"""The Keras cache and download steps that every loader shares, with an offline switch.

Downloads are attempted only when a quick connection test succeeds, because on a closed
network ``keras.utils.get_file`` can wait a long time before failing.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

OFFLINE_ENV = "DLLAB_OFFLINE"
_PROBE_HOST = ("storage.googleapis.com", 443)


def keras_home() -> Path:
    """Keras' own cache root: ``$KERAS_HOME`` or ``~/.keras``."""
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


def keras_datasets_dir() -> Path:
    """Where ``keras.datasets`` and ``get_file`` keep downloads."""
    return keras_home() / "datasets"


def keras_models_dir() -> Path:
    """Where ``keras.applications`` keeps pretrained weights."""
    return keras_home() / "models"


def network_available(timeout_seconds: float = 1.5) -> bool:
    """True when downloads are allowed and the dataset host answers quickly."""
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0", "false", "False"):
        return False
    try:
        with socket.create_connection(_PROBE_HOST, timeout=timeout_seconds):
            return True
    except OSError:
        return False
