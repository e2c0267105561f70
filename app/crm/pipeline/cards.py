"""The board's cards as HTML, each rendered once per process for what it shows.

A board is 80 cards (and more as columns scroll); rendering one through the `card` macro
(templates/crm/pipeline/_card.html) costs ~60 µs of escaping and attribute lookups, most of
a board's CPU, and most cards are the same from one request to the next. So each card's
markup is kept per process (app.template_helpers.kept, a bounded LRU) by a key that is every value the card shows (every
field of board.Card but the two it does not: SHOWN_FIELDS) plus everything it shares with the
other cards (the macro itself, the URL patterns, the board's filter query): a change to any
shown value (name, units, revenue, tags, score, rep, days in stage, stale, stage...) is a new
key, so an unchanged key can only render the same HTML. Nothing to invalidate, no stale card.
"""
from __future__ import annotations

import dataclasses
import operator
from urllib.parse import urlencode

from flask import get_template_attribute, url_for
from markupsafe import Markup

from app.crm.pipeline import board, moves
from app.template_helpers import kept

CARD_TEMPLATE = "crm/pipeline/_card.html"

# What a card does not show: the activity time only orders the column (and makes its
# cursor), the stage's start time shows as days_in_stage / stale (both in the key).
NOT_SHOWN = frozenset({"last_activity_at", "stage_changed_at"})
SHOWN_FIELDS = tuple(f.name for f in dataclasses.fields(board.Card) if f.name not in NOT_SHOWN)
_shown = operator.attrgetter(*SHOWN_FIELDS)


_options_of: dict = {}  # the stage menus, per stage_options macro (a reloaded template: new ones)


class BoardKit:
    """What every card of a response shares, built once per response: URL patterns, the
    board's filter, each stage's menu (the `stage_options` macro rendered once per stage and
    process, only when a card has to be rendered). No CSRF field: htmx sends the token as a
    header (static/js/app.js)."""

    def __init__(self, filters: board.BoardFilters) -> None:
        self.lead_url = url_for("crm.lead", lead_id="__ID__")
        self.move_url = url_for("crm.move_lead", lead_id="__ID__")
        self.board_query = urlencode(filters.as_args())
        # a column's next page (its infinite scroll): one url_for per response, not per column.
        # The stage is the path's first placeholder and the cursor (URL-safe base64) the
        # query's first argument, so replacing the first occurrence of each is exact.
        self._more_url = url_for("crm.pipeline_more", stage="__STAGE__", after="__AFTER__", **filters.as_args())
        self._card = get_template_attribute(CARD_TEMPLATE, "card")
        # the key's part every card of this response shares (the macro: a reloaded template renders anew)
        self._shared = (self._card, self.lead_url, self.move_url, self.board_query)

    @property
    def options(self) -> dict:
        stage_options = get_template_attribute(CARD_TEMPLATE, "stage_options")
        options = _options_of.get(stage_options)
        if options is None:
            _options_of.clear()
            options = _options_of[stage_options] = {
                stage: stage_options(stage, moves.STAGE_LABELS) for stage in moves.STAGE_LABELS}
        return options

    def more_url(self, column: board.Column) -> str:
        """The address of the cards after the column's last one (its next_cursor)."""
        return self._more_url.replace("__STAGE__", column.stage.value, 1).replace("__AFTER__", column.next_cursor, 1)

    def cards(self, cards) -> Markup:
        """The cards' HTML, from the cache where a card shows what it showed before."""
        shared, parts = self._shared, []
        for card in cards:
            parts.append(kept((shared, _shown(card)), lambda card=card: self._card(card, self)))
        return Markup("").join(parts)
