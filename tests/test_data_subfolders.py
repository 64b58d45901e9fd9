"""Only folders inside the data directory can be read: names, ``..`` tricks, absolute paths and symlinks."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import settings


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "pets" / "cats").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (tmp_path / "secret").mkdir()
    (root / "escape").symlink_to(tmp_path / "secret", target_is_directory=True)
    (root / "inside_link").symlink_to(root / "pets", target_is_directory=True)
    (root / "notes.txt").write_text("not a folder")
    return root


def test_a_name_or_a_path_below_the_data_directory_resolves(data_root: Path) -> None:
    assert settings.resolve_data_subfolder("pets", data_root) == data_root / "pets"
    assert settings.resolve_data_subfolder(f" {data_root}/pets/cats ", data_root) == data_root / "pets" / "cats"
    assert settings.resolve_data_subfolder("pets/../pets", data_root) == data_root / "pets"
    assert settings.resolve_data_subfolder("inside_link", data_root) == data_root / "pets"


@pytest.mark.parametrize("text", ["/etc", "/", "..", "../secret", "pets/../../secret", "escape", "escape/x", "~", "."])
def test_anything_outside_the_data_directory_is_refused(data_root: Path, text: str) -> None:
    with pytest.raises(ValueError, match="not a folder inside the data directory"):
        settings.resolve_data_subfolder(text, data_root)


def test_an_outside_path_is_refused_without_saying_whether_it_exists(data_root: Path) -> None:
    messages = []
    for text in ("/etc", "/no/such/folder"):
        with pytest.raises(ValueError) as caught:
            settings.resolve_data_subfolder(text, data_root)
        messages.append(str(caught.value).replace(text, "<text>"))
    assert messages[0] == messages[1]


def test_missing_inside_empty_text_and_no_data_directory(data_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="nope is not a folder in the data directory"):
        settings.resolve_data_subfolder("nope", data_root)
    with pytest.raises(ValueError, match="not a folder"):
        settings.resolve_data_subfolder("notes.txt", data_root)
    with pytest.raises(ValueError, match="Choose a folder"):
        settings.resolve_data_subfolder("  ", data_root)
    with pytest.raises(ValueError, match=settings.DATA_DIR_ENV):
        settings.resolve_data_subfolder("pets")  # the autouse fixture leaves no data directory
    monkeypatch.setenv(settings.DATA_DIR_ENV, str(data_root))
    assert settings.resolve_data_subfolder("pets") == data_root / "pets"


def test_the_listing_offers_visible_folders_and_resolving_still_refuses_a_link_out(data_root: Path) -> None:
    assert settings.data_subfolders(data_root) == ["escape", "inside_link", "pets"]
    assert settings.data_subfolders(None) == []
