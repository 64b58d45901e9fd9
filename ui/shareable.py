"""Widgets whose values live in the page's URL, so a pasted link reopens the exact demo.

Like TensorFlow Playground: each ``shared_*`` widget (a) on a session's first run starts from the
link's query value when it is valid, (b) writes its current value back to ``st.query_params`` on
every run, and (c) when the link's value is bad or stale (an option that no longer exists, a
number out of range) starts from ``default`` and shows a small toast naming the parameter.

Adopting it on a page takes minutes: swap ``st.<widget>`` for ``shared_<widget>``, give ``default=``
instead of ``value=``/``index=``, and keep the ``key=`` (it is also the query parameter's name)::

    from ui.shareable import shared_checkbox, shared_selectbox, shared_slider, share_link

    cell = shared_selectbox("Cell", ["simple_rnn", "lstm", "gru"], key="cell", default="lstm")
    units = shared_slider("Units", 8, 256, key="units", default=64, step=8)
    bidirectional = shared_checkbox("Bidirectional", key="bidirectional", default=False)
    share_link()  # optional: the full link in a copyable box, after the shared widgets

Every other keyword (``help``, ``format_func``, ``disabled``…) passes through to Streamlit.
For a widget not covered here, call :func:`bind_query_param` before it and
:func:`publish_query_param` after it. Parsing and validation live in ``core.query_state``.

Why not Streamlit's own ``bind="query-params"`` (1.67)? It was tried on every widget kind the
pages use, and it cannot keep this module's promise: a bad or stale link value is dropped
silently (no notice naming the setting), a selectbox writes its ``format_func`` label into the
URL ("Adam (2 slots per weight)") so links break when wording changes, a slider accepts values
off its step grid, and a multiselect's comma list is not read. The RNN page's tabs use native
binding, where none of that matters; every other setting goes through this wrapper.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

import streamlit as st

from core import query_state
from core.exercise import TEACHER_PARAM

T = TypeVar("T")

# The largest whole number a browser's number box (a JavaScript double) holds exactly.
MAX_SAFE_INTEGER = 2**53 - 1

# Session state the exercise links (``ui.exercise``) share with this module, reset on every run:
CONTROLS_STATE = "dllab_page_controls"  # query key -> label of each setting drawn so far
LOCKS_STATE = "dllab_exercise_locks"  # (query key -> start text, free keys, hide locked controls?) or absent
SETTINGS_CLOSED = "dllab_settings_closed"  # True once the page's first Train button is drawn
LOCKED_HELP = "Locked by this exercise: the instructor fixed it."


def bind_query_param(key: str, parse: Callable[[str], T], default: T, *, label: str | None = None) -> T:
    """Seed ``st.session_state[key]`` from the URL once per session (or from ``default``); return it.

    Later runs keep whatever the widget holds, so a user's changes are never overwritten by the link.
    A held value this widget could not show (left by another page's widget with the same key) is
    replaced as if the session were new. The notice stays ten seconds, since a slow page may still
    be drawing when it appears.

    The controls drawn before the page's first Train button are its *settings*: an exercise link
    can lock them. A locked setting holds the exercise's value on every run, whatever the widget
    or the URL says (see :func:`lock_state`, which says whether to draw it disabled or not at
    all). Locking is the rule and freedom the exception, so a setting that only appears later
    (the iterations box when "Train for" is free, say) is held at its default, not left open.
    Controls after the Train button (views of a run) are never locked.
    """
    if st.session_state.get(SETTINGS_CLOSED):
        return _bind_free(key, parse, default)
    st.session_state.setdefault(CONTROLS_STATE, {})[key] = label or key
    locked, text = _lock(key)
    if locked:
        value = default
        if text is not None:
            try:
                value = parse(text)
            except ValueError:
                pass  # an option this version no longer has: held at the default instead
        st.session_state[key] = value
        return value
    return _bind_free(key, parse, default)


def _bind_free(key: str, parse: Callable[[str], T], default: T) -> T:
    """The value of a control the user may change: what it holds, else the link's, else ``default``."""
    if key in st.session_state and _valid(st.session_state[key], parse):
        return st.session_state[key]
    raw = st.query_params.get(key)
    reading = query_state.read_param(raw, parse, default)
    if reading.problem is not None and raw is not None:
        st.toast(query_state.notice_text(key, raw, reading.problem, default), icon=":material/link_off:", duration="long")
    st.session_state[key] = reading.value
    return reading.value


def _valid(value: Any, parse: Callable[[str], Any]) -> bool:
    try:
        parse(query_state.format_value(value))
    except ValueError:
        return False
    return True


def _lock(key: str) -> tuple[bool, str | None]:
    """Whether the page's exercise locks this setting, and the text it holds it at (``None``: its default)."""
    locks = st.session_state.get(LOCKS_STATE)
    if not locks or key in locks[1]:
        return False, None
    return True, locks[0].get(key)


def is_free(key: str) -> bool:
    """True unless the page's exercise fixes this setting (everything is free outside an exercise).

    A page asks this of settings that are not controls too: the five-seed button is offered only
    where the exercise lets students choose seeds.
    """
    return not _lock(key)[0]


def lock_state(key: str) -> str | None:
    """``"hidden"`` or ``"locked"`` when the page's exercise fixes this control (call after binding it), else ``None``."""
    if key not in st.session_state.get(CONTROLS_STATE, {}) or is_free(key):
        return None  # not a setting (a view of a run, drawn after the Train button) or a free one
    return "hidden" if st.session_state[LOCKS_STATE][2] else "locked"


def locked_kwargs(key: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A widget's keyword arguments, disabled with a note when the page's exercise locks it."""
    if lock_state(key) is None:
        return kwargs
    note = f"{kwargs['help']}\n\n{LOCKED_HELP}" if kwargs.get("help") else LOCKED_HELP
    return {**kwargs, "disabled": True, "help": note}


def publish_query_param(key: str, value: Any) -> None:
    """Write a widget's current value into the URL, only when it changed (each write updates the browser)."""
    text = query_state.format_value(value)
    if st.query_params.get(key) != text:
        st.query_params[key] = text


def shared_selectbox(label: str, options: Sequence[T], *, key: str, default: T | None = None, **kwargs: Any) -> T:
    """``st.selectbox`` kept in the URL; ``default`` is the first option unless given."""
    return _shared_choice(st.selectbox, label, options, key, default, kwargs)


def shared_radio(label: str, options: Sequence[T], *, key: str, default: T | None = None, **kwargs: Any) -> T:
    """``st.radio`` kept in the URL; ``default`` is the first option unless given."""
    return _shared_choice(st.radio, label, options, key, default, kwargs)


def shared_select_slider(
    label: str, options: Sequence[T], *, key: str, default: T | None = None, **kwargs: Any
) -> T:
    """``st.select_slider`` kept in the URL (one value, not a range); ``default`` is the first option unless given."""
    return _shared_choice(st.select_slider, label, options, key, default, kwargs)


def shared_multiselect(
    label: str, options: Sequence[T], *, key: str, default: Sequence[T] = (), **kwargs: Any
) -> list[T]:
    """``st.multiselect`` kept in the URL as a comma-separated list of options."""
    options = list(options)
    query_state.check_list_options(options)
    unknown = [value for value in default if value not in options]
    if unknown:
        raise ValueError(f"default {unknown!r} of {key!r} is not among its options")
    bind_query_param(key, lambda raw: query_state.parse_choices(raw, options), list(default), label=label)
    if lock_state(key) == "hidden":
        return st.session_state[key]
    chosen = st.multiselect(label, options, key=key, **locked_kwargs(key, kwargs))
    publish_query_param(key, chosen)
    return chosen


def shared_slider(
    label: str,
    min_value: int | float,
    max_value: int | float,
    *,
    key: str,
    default: int | float,
    step: int | float | None = None,
    **kwargs: Any,
) -> int | float:
    """``st.slider`` for one number kept in the URL; whole numbers when the bounds and default are ints."""
    parse = _number_parser(min_value, max_value, step, default)
    bind_query_param(key, parse, default, label=label)
    if lock_state(key) == "hidden":
        return st.session_state[key]
    value = st.slider(label, min_value=min_value, max_value=max_value, step=step, key=key, **locked_kwargs(key, kwargs))
    publish_query_param(key, value)
    return value


def shared_number(
    label: str,
    *,
    key: str,
    default: int | float,
    min_value: int | float | None = None,
    max_value: int | float | None = None,
    step: int | float | None = None,
    **kwargs: Any,
) -> int | float:
    """``st.number_input`` kept in the URL; whole numbers when the default (and bounds) are ints.

    Links are not held to ``step`` here, since a number box accepts any typed value in range.
    """
    parse = _number_parser(min_value, max_value, None, default)
    bind_query_param(key, parse, default, label=label)
    if lock_state(key) == "hidden":
        return st.session_state[key]
    value = st.number_input(
        label, min_value=min_value, max_value=max_value, step=step, key=key, **locked_kwargs(key, kwargs)
    )
    publish_query_param(key, value)
    return value


def shared_checkbox(label: str, *, key: str, default: bool = False, **kwargs: Any) -> bool:
    """``st.checkbox`` kept in the URL as ``true``/``false``."""
    return _shared_switch(st.checkbox, label, key, default, kwargs)


def shared_toggle(label: str, *, key: str, default: bool = False, **kwargs: Any) -> bool:
    """``st.toggle`` kept in the URL as ``true``/``false``."""
    return _shared_switch(st.toggle, label, key, default, kwargs)


def _shared_switch(widget: Callable[..., Any], label: str, key: str, default: bool, kwargs: dict) -> bool:
    bind_query_param(key, query_state.parse_bool, default, label=label)
    if lock_state(key) == "hidden":
        return st.session_state[key]
    value = widget(label, key=key, **locked_kwargs(key, kwargs))
    publish_query_param(key, value)
    return value


def share_link(label: str = "Link to this exact demo") -> str:
    """A popover holding the page's full link with its settings and a copy button; returns the link.

    The link sits in a popover because ``st.code``'s syntax highlighter is a 1.6 MB script: in a
    popover it is fetched when someone opens it, not on every page load. Shows nothing (and
    returns ``""``) when the browser's address is unknown, as in bare mode.
    """
    base = st.context.url
    if not base:
        return ""
    # The instructor's token lets its holder clear an exercise's board: never pass it on.
    query = urlencode({key: value for key, value in st.query_params.to_dict().items() if key != TEACHER_PARAM})
    link = f"{base}?{query}" if query else base
    with st.popover(label, icon=":material/link:"):
        st.caption("Copy this link: it opens this page with the settings above.")
        st.code(link, language=None, wrap_lines=True)
    return link


def _shared_choice(
    widget: Callable[..., Any], label: str, options: Sequence[T], key: str, default: T | None, kwargs: dict
) -> T:
    options = list(options)
    if not options:
        raise ValueError(f"{key!r} needs at least one option")
    if default is None:
        default = options[0]
    elif default not in options:
        raise ValueError(f"default {default!r} of {key!r} is not among its options")
    bind_query_param(key, lambda raw: query_state.parse_choice(raw, options), default, label=label)
    if lock_state(key) == "hidden":
        return st.session_state[key]
    value = widget(label, options, key=key, **locked_kwargs(key, kwargs))
    publish_query_param(key, value)
    return value


def _number_parser(
    min_value: int | float | None, max_value: int | float | None, step: int | float | None, default: int | float
) -> Callable[[str], int | float]:
    whole = all(isinstance(value, int) and not isinstance(value, bool) for value in (min_value, max_value, step, default) if value is not None)
    if whole:
        # The browser holds numbers as doubles: past 2**53 a whole number silently changes (a
        # 20-digit link became 0), so an unbounded side is held to the exactly representable range.
        low = -MAX_SAFE_INTEGER if min_value is None else min_value
        high = MAX_SAFE_INTEGER if max_value is None else max_value
        return lambda raw: query_state.parse_int(raw, min_value=low, max_value=high, step=step)
    return lambda raw: query_state.parse_float(raw, min_value=min_value, max_value=max_value, step=step)
