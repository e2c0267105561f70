from urllib.parse import parse_qs

from flask import abort, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.pipeline import board, cards, moves
from app.errors import uuid_or_404
from app.extensions import db
from app.htmx import add_trigger, render


@bp.get("/pipeline")
@require(SALES)
def pipeline():
    filters = board.BoardFilters.from_args(request.args)
    return render("crm/pipeline/pipeline.html", "board", context=dict(columns=board.board(filters, current_user.id), filters=filters, choices=board.filter_choices(), labels=moves.STAGE_LABELS, kit=cards.BoardKit(filters)))


@bp.get("/pipeline/columns/<stage>")
@require(SALES)
def pipeline_more(stage: str):
    """The next cards of one column (infinite scroll)."""
    try:
        stage_enum = moves.parse_stage(stage)
    except moves.UnknownStage:
        abort(404)
    filters = board.BoardFilters.from_args(request.args)
    column = board.more_cards(stage_enum, filters, request.args.get("after", ""), current_user.id)
    return render("crm/pipeline/_board_more.html", context=dict(column=column, filters=filters, labels=moves.STAGE_LABELS, kit=cards.BoardKit(filters)))


def _board_filters_from_form() -> board.BoardFilters:
    # The move form carries the board's query string so the counts it answers
    # with are those of the filtered board the rep is looking at.
    return board.BoardFilters.from_args(MultiDict(
        {k: v[0] for k, v in parse_qs(request.form.get("board_query", "")).items()}))


@bp.post("/pipeline/leads/<lead_id>/move")
@require(SALES)
def move_lead(lead_id: str):
    lead_uuid = uuid_or_404(lead_id)
    filters = _board_filters_from_form()
    try:
        result = moves.move_lead_to_stage(
            lead_uuid, request.form.get("stage", ""), actor=current_user,
            expected_stage=request.form.get("from_stage") or None,
            lost_reason=request.form.get("lost_reason"), read_back=board.card_select)
    except LookupError:
        abort(404)
    except moves.LostReasonRequired as exc:
        target = moves.parse_stage(request.form["stage"])
        return render("crm/pipeline/_lost_dialog.html", context=dict(lead_id=lead_uuid, target=target, message=str(exc), from_stage=request.form.get("from_stage"), board_query=request.form.get("board_query", ""), reason=request.form.get("lost_reason", ""), labels=moves.STAGE_LABELS), status=422)
    except moves.MoveError as exc:
        # Unknown stage or a conflicting move: show the board as it really is.
        # (Nothing was changed; the request's transaction ends unused.)
        status = 409 if isinstance(exc, moves.StageConflict) else 422
        response = render("crm/pipeline/_board_refresh.html", context=dict(columns=board.board(filters, current_user.id), filters=filters, labels=moves.STAGE_LABELS, kit=cards.BoardKit(filters)), status=status)
        return add_trigger(response, {"toast": {"message": str(exc), "level": "error"}})
    user_id = current_user.id  # read before the commit expires the session's objects
    db.session.commit()
    # The move read the board-wide totals; a filtered board counts its own.
    totals = board.column_totals(filters, user_id, [result.from_stage, result.to_stage]) \
        if filters.active or not result.changed else result.totals
    card = board.moved_card(result)
    response = render("crm/pipeline/_moved.html", context=dict(card=card, result=result, totals=totals, filters=filters, labels=moves.STAGE_LABELS, kit=cards.BoardKit(filters)))
    if result.changed:
        add_trigger(response, {"toast": {"message": f"Moved to {moves.STAGE_LABELS[result.to_stage]}",
                                         "level": "success"}, "leadMoved": {"id": str(lead_uuid)}})
    return response


