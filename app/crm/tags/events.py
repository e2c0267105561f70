"""Domain events other packages listen to, without the CRM importing them.

Applying a DISPOSITION tag is what starts automation sequences: the sequences
package registers a listener with `@on_disposition_applied`; `tags.apply_tag`
emits through `disposition_applied`. Listeners run inside the caller's unit of
work (they flush, enqueue jobs; they never commit).
"""
from __future__ import annotations

from collections.abc import Callable

_disposition_listeners: list[Callable] = []


def on_disposition_applied(listener: Callable) -> Callable:
    """Register `listener(lead, tag, actor)`; usable as a decorator."""
    if listener not in _disposition_listeners:
        _disposition_listeners.append(listener)
    return listener


def disposition_applied(lead, tag, actor) -> None:
    for listener in list(_disposition_listeners):
        listener(lead, tag, actor)


_removal_listeners: list[Callable] = []


def on_disposition_removed(listener: Callable) -> Callable:
    """Register `listener(lead, tag, actor)` for a DISPOSITION tag removed from a lead
    (sequences cancel the tag's run)."""
    if listener not in _removal_listeners:
        _removal_listeners.append(listener)
    return listener


def disposition_removed(lead, tag, actor) -> None:
    for listener in list(_removal_listeners):
        listener(lead, tag, actor)
