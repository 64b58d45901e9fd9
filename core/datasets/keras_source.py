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
    """True when downloads are allowed and where they come from answers quickly.

    With ``DLLAB_MIRROR`` set, that is the mirror (the instructor's laptop), not the internet: a
    classroom with no internet and a mirror still gets the real datasets.
    """
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0", "false", "False"):
        return False
    try:
        with socket.create_connection(_download_host(), timeout=timeout_seconds):
            return True
    except (OSError, ValueError):
        return False


def _download_host() -> tuple[str, int]:
    from urllib.parse import urlsplit

    from core.download import mirror_url

    mirror = mirror_url()
    if mirror is None:
        return _PROBE_HOST
    parts = urlsplit(mirror)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def unreachable_mirror_note() -> str | None:
    """Why nothing was downloaded when a classroom mirror is set but does not answer (for the fallback banner)."""
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0", "false", "False"):
        return None
    from core.download import MIRROR_ENV, mirror_url

    try:
        mirror = mirror_url()
    except ValueError as error:
        return f"{error}."
    if mirror is None or network_available():
        return None
    return f"The classroom mirror {MIRROR_ENV}={mirror} did not answer, so nothing was downloaded."
