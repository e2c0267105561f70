import uuid
from datetime import UTC
from urllib.parse import parse_qs

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from app.auth.permissions import SALES, require
from app.crm import bp
from app.crm.models import Task
from app.crm.pipeline import board, moves
from app.crm.records import lead_list, queries
from app.crm.records.forms import TaskForm
from app.crm.search import services as searching
from app.crm.tasks import services as tasking
from app.errors import get_or_404, uuid_or_404
from app.extensions import db
from app.htmx import activity_changed, add_trigger, render


def _stage_options() -> dict:
    """Each stage's <option> markup for the cards' stage menu (escaped; built once)."""
    from markupsafe import escape

    return {
        stage: "".join(f'<option value="{s.value}"{" selected" if s == stage else ""}>{escape(label)}</option>'
                       for s, label in moves.STAGE_LABELS.items())
        for stage in moves.STAGE_LABELS
    }


STAGE_OPTIONS = _stage_options()


def board_kit(filters: board.BoardFilters) -> dict:
    """What every card shares, built once per response instead of 250 times."""
    from urllib.parse import urlencode

    from flask_wtf.csrf import generate_csrf

    return {"lead_url": url_for("crm.lead", lead_id="__ID__"),
            "move_url": url_for("crm.move_lead", lead_id="__ID__"),
            "csrf": generate_csrf(), "board_query": urlencode(filters.as_args()), "options": STAGE_OPTIONS}


@bp.get("/pipeline")
@require(SALES)
def pipeline():
    filters = board.BoardFilters.from_args(request.args)
    return render("crm/pipeline/pipeline.html", "board", columns=board.board(filters, current_user.id),
                  filters=filters, choices=board.filter_choices(), labels=moves.STAGE_LABELS,
                  kit=board_kit(filters))


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
    return render("crm/pipeline/_board_more.html", column=column, filters=filters, labels=moves.STAGE_LABELS,
                  kit=board_kit(filters))


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
        return render("crm/pipeline/_lost_dialog.html", lead_id=lead_uuid, target=target, message=str(exc),
                      from_stage=request.form.get("from_stage"), board_query=request.form.get("board_query", ""),
                      reason=request.form.get("lost_reason", ""), labels=moves.STAGE_LABELS, status=422)
    except moves.MoveError as exc:
        # Unknown stage or a conflicting move: show the board as it really is.
        # (Nothing was changed; the request's transaction ends unused.)
        status = 409 if isinstance(exc, moves.StageConflict) else 422
        response = render("crm/pipeline/_board_refresh.html", columns=board.board(filters, current_user.id),
                          filters=filters, labels=moves.STAGE_LABELS, kit=board_kit(filters), status=status)
        return add_trigger(response, {"toast": {"message": str(exc), "level": "error"}})
    user_id = current_user.id  # read before the commit expires the session's objects
    db.session.commit()
    # The move read the board-wide totals; a filtered board counts its own.
    totals = board.column_totals(filters, user_id, [result.from_stage, result.to_stage]) \
        if filters.active or not result.changed else result.totals
    card = board.moved_card(result)
    response = render("crm/pipeline/_moved.html", card=card, result=result, totals=totals, filters=filters,
                      labels=moves.STAGE_LABELS, kit=board_kit(filters))
    if result.changed:
        add_trigger(response, {"toast": {"message": f"Moved to {moves.STAGE_LABELS[result.to_stage]}",
                                         "level": "success"}, "leadMoved": {"id": str(lead_uuid)}})
    return response


@bp.get("/companies")
@require(SALES)
def companies():
    filters = queries.CompanyFilters.from_args(request.args)
    page = queries.companies_page(filters, request.args.get("after"))
    from app.crm.models import CompanyStatus, TaxonomyType
    from app.crm.records.edit_views import taxonomy_choices

    return render("crm/records/companies.html", "company_rows", page=page, filters=filters, q=filters.q or "",
                  reps=queries.assignable_users(), statuses=list(CompanyStatus),
                  industries=[v for v, _ in taxonomy_choices(TaxonomyType.INDUSTRY) if v])


def _assignee_choices():
    return [(str(u.id), u.full_name) for u in queries.assignable_users()]


def new_task_form(*, blank: bool) -> TaskForm:
    """The new-task form of a lead or company page (assigned to the rep by default)."""
    form = TaskForm(formdata=None) if blank else TaskForm()
    form.assigned_to.choices = _assignee_choices()
    if not form.assigned_to.data:
        form.assigned_to.data = str(current_user.id)
    return form


def add_task_from(form: TaskForm, *, lead=None, company=None):
    from app.auth.models import User
    from app.crm.models import TaskPriority, TaskType

    due = form.due_at.data.replace(tzinfo=UTC) if form.due_at.data else None
    return tasking.create_task(title=form.title.data, actor=current_user, lead=lead, company=company,
                               assigned_to=db.session.get(User, uuid.UUID(form.assigned_to.data)),
                               task_type=TaskType(form.task_type.data),
                               priority=TaskPriority(form.priority.data), due_at=due)


@bp.post("/tasks/<task_id>/complete")
@require(SALES)
def complete_task(task_id: str):
    task = get_or_404(Task, task_id)
    tasking.complete_task(task, actor=current_user)
    db.session.commit()
    return activity_changed(render("crm/tasks/_task_item.html", task=task, users=queries.assignable_users()))


@bp.post("/tasks/<task_id>/reopen")
@require(SALES)
def reopen_task(task_id: str):
    task = get_or_404(Task, task_id)
    tasking.reopen_task(task, actor=current_user)
    db.session.commit()
    return activity_changed(render("crm/tasks/_task_item.html", task=task, users=queries.assignable_users()))


@bp.post("/tasks/<task_id>/reassign")
@require(SALES)
def reassign_task(task_id: str):
    from app.auth.models import User

    task = get_or_404(Task, task_id)
    try:
        user = db.session.get(User, uuid.UUID(request.form.get("user_id", "")))
    except ValueError:
        user = None
    if user is None or not user.is_active:
        abort(422)
    tasking.reassign_task(task, user, actor=current_user)
    db.session.commit()
    response = render("crm/tasks/_task_item.html", task=task, users=queries.assignable_users())
    return activity_changed(response, f"Reassigned to {user.full_name}")


@bp.get("/tasks")
@require(SALES)
def tasks():
    return render("crm/tasks/tasks.html", groups=queries.my_open_tasks(current_user.id),
                  users=queries.assignable_users())


@bp.route("/tasks/new", methods=["GET", "POST"])
@require(SALES)
def new_task():
    """"New task" on the tasks page: a to-do of its own (not tied to a lead or company;
    those are added from their pages)."""
    form = new_task_form(blank=False)
    if form.validate_on_submit():
        task = add_task_from(form)
        db.session.commit()
        flash(f"Task added: {task.title}", "success")
        return redirect(url_for("crm.tasks"))
    return render("crm/tasks/task_form.html", form=form, status=422 if request.method == "POST" else 200)


@bp.get("/search")
@require(SALES)
def search():
    results = searching.search(request.args.get("q", ""))
    return render("crm/search/search.html", "results", results=results, labels=moves.STAGE_LABELS)


@bp.get("/leads")
@require(SALES)
def leads():
    query = lead_list.ListQuery.from_args(request.args)
    page = lead_list.leads_page(query, current_user.id)
    return render("crm/records/leads.html", "lead_rows", page=page, query=query, choices=board.filter_choices(),
                  labels=moves.STAGE_LABELS, reps=queries.assignable_users(), sorts=list(lead_list.SORTS))


@bp.post("/leads/bulk")
@require(SALES)
def leads_bulk():
    """Assign a rep, add a tag or move the stage of the selected leads."""
    ids = []
    for raw in request.form.getlist("lead_ids"):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    action = request.form.get("action", "")
    if not ids:
        return add_trigger(render("crm/records/_bulk_result.html", message="Select at least one lead.", status=422),
                           {"toast": {"message": "Select at least one lead.", "level": "error"}})
    rep = request.form.get("rep_id") or None
    try:
        result = lead_list.bulk_apply(
            ids[:500], action, actor=current_user, rep_id=uuid.UUID(rep) if rep else None,
            tag=request.form.get("tag") or None, stage=request.form.get("stage") or None,
            lost_reason=request.form.get("lost_reason"))
    except (ValueError, moves.MoveError) as exc:
        return add_trigger(render("crm/records/_bulk_result.html", message=str(exc), status=422),
                           {"toast": {"message": str(exc), "level": "error"}})
    db.session.commit()
    message = f"Updated {result.done} lead{'s' if result.done != 1 else ''}."
    if result.skipped:
        message += f" Skipped {len(result.skipped)}: " + "; ".join(result.skipped[:5])
    response = render("crm/records/_bulk_result.html", message=message)
    return add_trigger(response, {"toast": {"message": message, "level": "success"}, "leadsChanged": True})
