"""Applying a step of a state machine; each domain writes its table of steps once."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .errors import IllegalTransition

Transitions = dict[str, tuple[set[str], str]]


def apply_step(transitions: Transitions, obj, action: str, refusal) -> str:
    """Move ``obj.status`` by ``action`` or raise :class:`IllegalTransition` (writing nothing).

    ``transitions`` maps an action to (states it may start from, state it leads to); an action
    not in the table is refused like a step from the wrong state.
    """
    if action not in transitions:
        raise IllegalTransition(_l("不支持的操作。"))
    sources, target = transitions[action]
    if obj.status not in sources:
        raise IllegalTransition(refusal)
    obj.status = target
    return target
