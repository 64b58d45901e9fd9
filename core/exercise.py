"""Class exercises: a signed link with a question, locked controls and a goal, and a board of everyone's runs.

An instructor turns the page's current settings into an :class:`Exercise`: which controls students
may change (the others are locked at their current values), a question, and a :class:`Goal` on a
run's figures. The exercise travels in the link as ``exercise=<payload>.<signature>``:

- the payload is the exercise as compact JSON, zlib-compressed and base64url-encoded, so the link
  stays short and a page can read it without any server state;
- the signature is an HMAC-SHA256 of the payload under the server's secret (``DLLAB_SECRET``, or one
  generated once into the cache folder), so a student who edits the link (to unlock a control, or
  to change a locked value) gets an unlocked page and a notice, never a quietly altered exercise.

The payload is signed, not encrypted: anyone can read it. That is why the reference answer is not
in it but kept on the server (:func:`save_answer`), and shown only when the exercise allows it.

The class board is one JSON line per run in ``<cache>/.exercises/boards/<exercise id>.jsonl``. The
cache's own clear and eviction skip dot-folders, so clearing trained runs keeps the boards; the
instructor clears a board with the link only they hold (:func:`teacher_token`).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import math
import os
import secrets
import unicodedata
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from core import settings
from core.cache import KEPT_FOLDER

EXERCISE_PARAM = "exercise"
TEACHER_PARAM = "teacher"
SECRET_ENV = "DLLAB_SECRET"

MAX_LINK_CHARS = 8_000  # the exercise parameter; a real one is a few hundred characters
MAX_PAYLOAD_BYTES = 64 * 1024  # after decompression
MAX_QUESTION_CHARS = 1_000
MAX_NICKNAME_CHARS = 40
MAX_SETTINGS = 64
MAX_SETTING_CHARS = 400
MAX_BOARD_ENTRIES = 500  # one lecture's worth of runs for 200 students, with room to spare
MAX_ENTRIES_PER_AUTHOR = 40  # so one session cannot fill the board for everyone
MAX_BOARD_LINE_BYTES = 2 * 1024
# Boards and answers each. Anyone can make an exercise, so disk stays bounded (at worst 200 boards
# of 500 lines of 2 kB, 200 MB); the least recently written go first, so an active board stays.
MAX_KEPT_FILES = 200

_SIGNATURE_CONTEXT = b"dllab-exercise-v1\n"
_TEACHER_CONTEXT = b"dllab-exercise-teacher-v1\n"
_FORMAT_VERSION = 1
_process_secret: bytes | None = None  # used only when the cache folder cannot hold one


# ---------------------------------------------------------------------------------------------
# The goal


@dataclass(frozen=True)
class GoalCheck:
    """Whether one run meets the goal, and what it missed (``("accuracy 55.0% < 60.0%",)``)."""

    passed: bool
    misses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Goal:
    """Targets on a run's figures; every target given must be met. ``None`` means no target."""

    min_accuracy: float | None = None  # test accuracy as a fraction, 0–1
    max_params: int | None = None
    max_seconds: float | None = None  # training seconds

    def __post_init__(self) -> None:
        if self.min_accuracy is not None and not (0.0 <= self.min_accuracy <= 1.0):
            raise ValueError(f"the accuracy target must be between 0% and 100%, got {self.min_accuracy:.1%}")
        if self.max_params is not None and self.max_params < 1:
            raise ValueError(f"the parameter limit must be at least 1, got {self.max_params}")
        if self.max_seconds is not None and not (self.max_seconds > 0 and math.isfinite(self.max_seconds)):
            raise ValueError(f"the time limit must be a positive number of seconds, got {self.max_seconds}")

    @property
    def is_set(self) -> bool:
        """True when there is at least one target."""
        return any(value is not None for value in (self.min_accuracy, self.max_params, self.max_seconds))

    def describe(self) -> str:
        """The goal in words: "test accuracy ≥ 60.0% and ≤ 100,000 parameters"."""
        parts = []
        if self.min_accuracy is not None:
            parts.append(f"test accuracy ≥ {self.min_accuracy:.1%}")
        if self.max_params is not None:
            parts.append(f"≤ {self.max_params:,} parameters")
        if self.max_seconds is not None:
            parts.append(f"≤ {self.max_seconds:g} s of training")
        return " and ".join(parts) if parts else "no target"

    def check(self, *, accuracy: float, params: int, seconds: float) -> GoalCheck:
        """Judge one run. A run whose accuracy is not a number (it diverged) misses an accuracy target."""
        misses = []
        if self.min_accuracy is not None and not (math.isfinite(accuracy) and accuracy >= self.min_accuracy):
            shown = f"{accuracy:.1%}" if math.isfinite(accuracy) else "no accuracy (diverged)"
            misses.append(f"accuracy {shown} < {self.min_accuracy:.1%}")
        if self.max_params is not None and params > self.max_params:
            misses.append(f"{params:,} parameters > {self.max_params:,}")
        if self.max_seconds is not None and not seconds <= self.max_seconds:
            misses.append(f"{seconds:.1f} s > {self.max_seconds:g} s")
        return GoalCheck(not misses, tuple(misses))

    def as_json(self) -> dict[str, Any]:
        return {"min_accuracy": self.min_accuracy, "max_params": self.max_params, "max_seconds": self.max_seconds}

    @classmethod
    def from_json(cls, data: Any) -> Goal:
        if not isinstance(data, dict) or set(data) - {"min_accuracy", "max_params", "max_seconds"}:
            raise ValueError("the goal is not in this app's format")
        min_accuracy = _optional_number(data.get("min_accuracy"), "min_accuracy")
        max_params = _optional_number(data.get("max_params"), "max_params")
        if max_params is not None and max_params != int(max_params):
            raise ValueError("the parameter limit must be a whole number")
        return cls(
            min_accuracy=min_accuracy,
            max_params=int(max_params) if max_params is not None else None,
            max_seconds=_optional_number(data.get("max_seconds"), "max_seconds"),
        )


# ---------------------------------------------------------------------------------------------
# The exercise and its link


@dataclass(frozen=True)
class Exercise:
    """One exercise: the page, the question, where every control starts, which ones students may change, the goal.

    ``start`` holds each control's query text (``core.query_state.format_value``), as the page's
    shareable link would; the controls not in ``free`` are locked at those values.
    """

    page: str
    question: str
    start: tuple[tuple[str, str], ...]
    free: tuple[str, ...] = ()
    hide_locked: bool = False
    goal: Goal = field(default_factory=Goal)
    has_answer: bool = False
    answer_visible: bool = False
    made_at: int = 0  # seconds since the epoch: two otherwise equal exercises get separate boards

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", tuple(sorted((str(key), str(value)) for key, value in self.start)))
        object.__setattr__(self, "free", tuple(sorted(set(self.free))))
        object.__setattr__(self, "question", self.question.strip())
        if not self.question:
            raise ValueError("write the question students should answer")
        if len(self.question) > MAX_QUESTION_CHARS:
            raise ValueError(f"the question is {len(self.question):,} characters; keep it under {MAX_QUESTION_CHARS:,}")
        if len(self.start) > MAX_SETTINGS or any(len(key) + len(value) > MAX_SETTING_CHARS for key, value in self.start):
            raise ValueError("the exercise has more settings, or longer ones, than any page of this app")
        unknown = set(self.free) - {key for key, _ in self.start}
        if unknown:
            raise ValueError(f"free controls {sorted(unknown)} are not among the page's controls")

    @property
    def locked(self) -> dict[str, str]:
        """The locked controls and the query text of the value each is held at."""
        return {key: value for key, value in self.start if key not in self.free}

    @property
    def id(self) -> str:
        """A short stable name for the exercise's board and answer."""
        return hashlib.sha256(_canonical(self.as_json())).hexdigest()[:16]

    def as_json(self) -> dict[str, Any]:
        return {
            "v": _FORMAT_VERSION,
            "page": self.page,
            "question": self.question,
            "start": [list(pair) for pair in self.start],
            "free": list(self.free),
            "hide_locked": self.hide_locked,
            "goal": self.goal.as_json(),
            "has_answer": self.has_answer,
            "answer_visible": self.answer_visible,
            "made_at": self.made_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> Exercise:
        """Rebuild an exercise, refusing anything not in exactly this app's format."""
        expected = {"v", "page", "question", "start", "free", "hide_locked", "goal", "has_answer", "answer_visible", "made_at"}
        if not isinstance(data, dict) or set(data) != expected or data["v"] != _FORMAT_VERSION:
            raise ValueError("the exercise is not in this app's format")
        start = data["start"]
        if not isinstance(start, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair) for pair in start
        ):
            raise ValueError("the exercise's settings are not in this app's format")
        free = data["free"]
        if not isinstance(free, list) or not all(isinstance(key, str) for key in free):
            raise ValueError("the exercise's free controls are not in this app's format")
        flags = [data[name] for name in ("hide_locked", "has_answer", "answer_visible")]
        if not all(isinstance(flag, bool) for flag in flags):
            raise ValueError("the exercise's options are not in this app's format")
        if not isinstance(data["page"], str) or not isinstance(data["question"], str):
            raise ValueError("the exercise's page or question is not text")
        if not isinstance(data["made_at"], int) or isinstance(data["made_at"], bool):
            raise ValueError("the exercise's date is not a number")
        return cls(
            page=data["page"],
            question=data["question"],
            start=tuple((key, value) for key, value in start),
            free=tuple(free),
            hide_locked=flags[0],
            goal=Goal.from_json(data["goal"]),
            has_answer=flags[1],
            answer_visible=flags[2],
            made_at=data["made_at"],
        )


def link_token(exercise: Exercise, secret: bytes) -> str:
    """The ``exercise`` parameter's value: ``<payload>.<signature>``."""
    payload = _b64(zlib.compress(_canonical(exercise.as_json()), 9))
    return f"{payload}.{_signature(payload, secret)}"


def link_query(exercise: Exercise, secret: bytes) -> dict[str, str]:
    """Every query parameter of a student's link: the signed exercise, and each control's start value."""
    return {**dict(exercise.start), EXERCISE_PARAM: link_token(exercise, secret)}


@dataclass(frozen=True)
class ExerciseReading:
    """What a page's link says: an exercise to lock the page with, or why the link's exercise was refused."""

    exercise: Exercise | None = None
    problem: str | None = None


TAMPERED = (
    "This exercise link has been changed since it was made (or was made on another DL Lab server), "
    "so the page opens unlocked and its goal is not checked. Ask for the link again."
)


def read_exercise(query: Mapping[str, str], page: str, secret: bytes) -> ExerciseReading:
    """Check a page's query: no exercise, a valid one, or a refusal that says why (shown as a notice).

    The signature is checked before anything is decompressed or parsed, so a forged link costs one
    HMAC. A link whose locked control has another value in the URL is refused too: the URL is what
    a student can edit, and the signed payload is what the instructor set.
    """
    token = query.get(EXERCISE_PARAM)
    if token is None:
        return ExerciseReading()
    if not isinstance(token, str) or len(token) > MAX_LINK_CHARS or token.count(".") != 1:
        return ExerciseReading(problem=TAMPERED)
    payload, signature = token.split(".")
    if not hmac.compare_digest(signature.encode("ascii", "replace"), _signature(payload, secret).encode("ascii")):
        return ExerciseReading(problem=TAMPERED)
    try:
        exercise = Exercise.from_json(json.loads(_inflate(_unb64(payload))))
    except (ValueError, TypeError, zlib.error, UnicodeDecodeError, RecursionError):
        return ExerciseReading(problem=TAMPERED)
    if exercise.page != page:
        return ExerciseReading(problem=f"This exercise link belongs to another page ({_shown(exercise.page)}), so this page opens unlocked.")
    for key, value in exercise.locked.items():
        if key in query and query[key] != value:
            return ExerciseReading(problem=TAMPERED)
    return ExerciseReading(exercise)


def teacher_token(exercise: Exercise, secret: bytes) -> str:
    """The instructor's extra link parameter: it lets the holder clear the board and see the answer."""
    return _b64(hmac.new(secret, _TEACHER_CONTEXT + exercise.id.encode(), hashlib.sha256).digest())


def is_teacher(token: str | None, exercise: Exercise, secret: bytes) -> bool:
    """True when ``token`` is this exercise's instructor token (compared in constant time)."""
    if not token or len(token) > 100:
        return False
    return hmac.compare_digest(token.encode("ascii", "replace"), teacher_token(exercise, secret).encode("ascii"))


def changed_settings(exercise: Exercise, current: Mapping[str, str]) -> dict[str, str]:
    """The controls whose value differs from where the exercise started (new controls count as changed)."""
    start = dict(exercise.start)
    return {key: value for key, value in current.items() if start.get(key) != value}


# ---------------------------------------------------------------------------------------------
# The server's secret


def server_secret() -> bytes:
    """``DLLAB_SECRET``, or a random secret made once into the cache folder and kept there.

    Every Streamlit process that shares ``DLLAB_CACHE_DIR`` (behind the reverse proxy) then signs
    and checks with the same secret. When the cache folder cannot hold the file, the secret lives
    only as long as this process (:func:`secret_is_temporary`), and links stop working on restart.
    """
    global _process_secret
    from_environment = os.environ.get(SECRET_ENV, "")
    if from_environment:
        return from_environment.encode("utf-8")
    path = _private_folder() / "secret"
    try:
        return _read_or_create_secret(path)
    except OSError:
        if _process_secret is None:
            _process_secret = secrets.token_bytes(32)
        return _process_secret


def secret_is_temporary() -> bool:
    """True when links are signed with a secret that dies with this process."""
    return not os.environ.get(SECRET_ENV) and _process_secret is not None and _secret_in(_private_folder() / "secret") is None


def _read_or_create_secret(path: Path) -> bytes:
    """The secret in ``path``, made first if there is none (or only a damaged one).

    The new secret is written in full to a temporary file and then hard-linked into place, which
    fails if the file exists: two server processes starting together end up with whichever secret
    was linked first, and a crash never leaves a half-written secret behind.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    existing = _secret_in(path)
    if existing is not None:
        return existing
    temporary = path.with_name(f".tmp-secret-{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            if _secret_in(path) is None:  # a damaged secret (from a crash of an older version): replace it
                os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    found = _secret_in(path)
    if found is None:
        raise OSError(f"the exercise secret in {path} could not be written")
    return found


def _secret_in(path: Path) -> bytes | None:
    """The secret a file holds, or ``None`` when there is no file or it is not 64 hex digits."""
    try:
        text = path.read_bytes()[:200].decode("ascii").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    if len(text) != 64 or any(char not in "0123456789abcdef" for char in text):
        return None
    return text.encode("ascii")


# ---------------------------------------------------------------------------------------------
# The class board


@dataclass(frozen=True)
class BoardEntry:
    """One run on a class board. Nothing about the student is kept but the nickname they typed."""

    nickname: str
    run_key: str
    label: str
    changed: tuple[tuple[str, str], ...]
    accuracy: float
    params: int
    seconds: float
    passed: bool
    at: float = 0.0
    author: str = ""  # a random name per browser session, so a new nickname replaces the old one

    def as_json(self) -> dict[str, Any]:
        return {
            "author": self.author,
            "nickname": self.nickname,
            "run_key": self.run_key,
            "label": self.label,
            "changed": [list(pair) for pair in self.changed],
            "accuracy": self.accuracy if math.isfinite(self.accuracy) else None,
            "params": self.params,
            "seconds": self.seconds if math.isfinite(self.seconds) else None,
            "passed": self.passed,
            "at": self.at,
        }

    @classmethod
    def from_json(cls, data: Any) -> BoardEntry:
        if not isinstance(data, dict):
            raise ValueError("not a board entry")
        changed = data.get("changed")
        if not isinstance(changed, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(part, str) for part in pair) for pair in changed
        ):
            raise ValueError("not a board entry")
        accuracy, seconds = data.get("accuracy"), data.get("seconds")
        return cls(
            author=str(data.get("author", ""))[:32],
            nickname=clean_nickname(str(data.get("nickname", ""))),
            run_key=str(data["run_key"])[:64],
            label=str(data.get("label", ""))[:120],
            changed=tuple((key, value) for key, value in changed),
            accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else math.nan,
            params=int(data["params"]),
            seconds=float(seconds) if isinstance(seconds, (int, float)) else math.nan,
            passed=bool(data["passed"]),
            at=float(data.get("at", 0.0)),
        )

    def same_run_of_same_student(self, other: BoardEntry) -> bool:
        """True for the same run put on the board by the same session (or, without sessions, the same nickname)."""
        if self.run_key != other.run_key:
            return False
        return self.author == other.author if self.author or other.author else self.nickname == other.nickname


def clean_nickname(text: str) -> str:
    """A nickname safe to show: printable characters only, single spaces, at most 40 characters."""
    printable = "".join(char for char in text if unicodedata.category(char)[0] not in "CZ" or char == " ")
    return " ".join(printable.split())[:MAX_NICKNAME_CHARS]


def board_path(exercise_id: str) -> Path:
    return _private_folder() / "boards" / f"{_checked_id(exercise_id)}.jsonl"


def record_run(exercise_id: str, entry: BoardEntry) -> str:
    """Put a run on the board; returns what happened.

    - ``"added"``;
    - ``"renamed"``: the student had it there under another nickname, which is replaced;
    - ``"kept"``: it is there already;
    - ``"full"``: the board holds ``MAX_BOARD_ENTRIES`` lines (damaged ones count: the limit bounds the file);
    - ``"too many"``: this session has ``MAX_ENTRIES_PER_AUTHOR`` runs there.
    """
    path = board_path(exercise_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(entry.as_json(), allow_nan=False, separators=(",", ":"))
    if len(line.encode("utf-8")) > MAX_BOARD_LINE_BYTES:
        return "full"
    with open(path, "a+", encoding="utf-8") as handle:
        # One lock per board file: several server processes (behind the proxy) write the same board.
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            lines = handle.read().splitlines()
            entries = _parse_lines(lines)
            for position, old in enumerate(entries):
                if old.same_run_of_same_student(entry):
                    if old.nickname == entry.nickname:
                        return "kept"
                    entries[position] = replace(old, nickname=entry.nickname)
                    _rewrite(handle, entries)
                    return "renamed"
            if len(lines) >= MAX_BOARD_ENTRIES:
                return "full"
            if entry.author and sum(old.author == entry.author for old in entries) >= MAX_ENTRIES_PER_AUTHOR:
                return "too many"
            handle.seek(0, os.SEEK_END)
            handle.write(line + "\n")
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    _prune(path.parent)
    return "added"


def _rewrite(handle: Any, entries: Sequence[BoardEntry]) -> None:
    """Replace a locked board file's lines (a rename needs the whole file; it holds at most 1 MB)."""
    handle.seek(0)
    handle.truncate()
    handle.write("".join(json.dumps(entry.as_json(), allow_nan=False, separators=(",", ":")) + "\n" for entry in entries))
    handle.flush()


def read_board(exercise_id: str) -> list[BoardEntry]:
    """The board's runs, best first: goal met, then higher accuracy, fewer parameters, less time.

    Every student's open page re-reads the board every few seconds, so a board whose file has not
    changed is parsed once, not once per student.
    """
    path = board_path(exercise_id)
    try:
        status = path.stat()
    except OSError:
        return []
    stamp = (status.st_mtime_ns, status.st_size, status.st_ino)
    kept = _read_boards.get(path)
    if kept is not None and kept[0] == stamp:
        return list(kept[1])
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read(MAX_BOARD_ENTRIES * MAX_BOARD_LINE_BYTES).splitlines()
    except (OSError, ValueError):
        return []
    entries = ranked(_parse_lines(lines))
    if len(_read_boards) >= MAX_KEPT_FILES:
        _read_boards.clear()
    _read_boards[path] = (stamp, tuple(entries))
    return entries


_read_boards: dict[Path, tuple[tuple[int, int, int], tuple[BoardEntry, ...]]] = {}


def ranked(entries: Iterable[BoardEntry]) -> list[BoardEntry]:
    """Best first: goal met, then higher accuracy (a diverged run last), fewer parameters, less time, earlier."""
    def order(entry: BoardEntry) -> tuple:
        accuracy = entry.accuracy if math.isfinite(entry.accuracy) else -1.0
        return (not entry.passed, -accuracy, entry.params, entry.seconds, entry.at)

    return sorted(entries, key=order)


def clear_board(exercise_id: str) -> None:
    """Empty the board (the instructor's button)."""
    board_path(exercise_id).unlink(missing_ok=True)


def _parse_lines(lines: Sequence[str]) -> list[BoardEntry]:
    entries = []
    for line in lines[:MAX_BOARD_ENTRIES]:
        try:
            entries.append(BoardEntry.from_json(json.loads(line)))
        except (ValueError, TypeError, KeyError, RecursionError, OverflowError):
            continue  # a line cut short by a full disk: skip it, keep the rest
    return entries


# ---------------------------------------------------------------------------------------------
# The reference answer, kept on the server because the link is readable


@dataclass(frozen=True)
class Answer:
    """The instructor's reference run: its label, settings and figures."""

    label: str
    run_key: str
    settings: tuple[tuple[str, str], ...]
    accuracy: float
    params: int
    seconds: float

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "run_key": self.run_key,
            "settings": [list(pair) for pair in self.settings],
            "accuracy": self.accuracy if math.isfinite(self.accuracy) else None,
            "params": self.params,
            "seconds": self.seconds if math.isfinite(self.seconds) else None,
        }

    @classmethod
    def from_json(cls, data: Any) -> Answer:
        accuracy = data.get("accuracy")
        return cls(
            label=str(data["label"]),
            run_key=str(data["run_key"]),
            settings=tuple((str(key), str(value)) for key, value in data["settings"]),
            accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else math.nan,
            params=int(data["params"]),
            seconds=float(data["seconds"]) if isinstance(data["seconds"], (int, float)) else math.nan,
        )


def save_answer(exercise: Exercise, answer: Answer) -> None:
    """Keep the reference answer beside the boards, written atomically."""
    path = _private_folder() / "answers" / f"{_checked_id(exercise.id)}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")
    temporary.write_text(json.dumps(answer.as_json(), allow_nan=False), encoding="utf-8")
    os.replace(temporary, path)
    _prune(path.parent)


def load_answer(exercise: Exercise) -> Answer | None:
    """The exercise's reference answer, or ``None`` when it has none or this server does not hold it."""
    path = _private_folder() / "answers" / f"{_checked_id(exercise.id)}.json"
    try:
        return Answer.from_json(json.loads(path.read_text(encoding="utf-8")[:MAX_PAYLOAD_BYTES]))
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None


# ---------------------------------------------------------------------------------------------
# Helpers


def _private_folder() -> Path:
    return settings.cache_dir() / KEPT_FOLDER


def _prune(folder: Path) -> None:
    """Keep at most ``MAX_KEPT_FILES`` files in ``folder``: anyone can make exercises, so disk must stay bounded."""
    try:
        files = [(path.stat().st_mtime, path) for path in folder.iterdir() if path.is_file()]
    except OSError:
        return
    if len(files) <= MAX_KEPT_FILES:
        return
    for _, path in sorted(files)[: len(files) - MAX_KEPT_FILES]:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            continue  # another process's file we may not remove: the next write tries again


def _checked_id(exercise_id: str) -> str:
    if len(exercise_id) != 16 or any(char not in "0123456789abcdef" for char in exercise_id):
        raise ValueError(f"{exercise_id!r} is not an exercise id")
    return exercise_id


def _canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def _signature(payload: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, _SIGNATURE_CONTEXT + payload.encode("utf-8", "replace"), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise ValueError("not base64") from error


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    text = inflater.decompress(data, MAX_PAYLOAD_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError("the exercise is larger than any this app makes")
    return text


def _optional_number(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} is not a number")
    return float(value)


def _shown(text: str) -> str:
    return "".join(char for char in text[:40] if char.isalnum() or char in "_-")
