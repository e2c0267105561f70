
from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import inspect, select

from app.auth import services as accounts
from app.auth.forms import InviteForm, RoleForm
from app.auth.models import User, UserRole
from app.auth.permissions import SETTINGS, require
from app.crm.models import Tag, TagCategory, TaxonomyType, TaxonomyValue
from app.crm.tags import services as tagging
from app.errors import get_or_404
from app.extensions import db
from app.htmx import is_htmx, render, toast
from app.settings import bp
from app.settings import services as reference
from app.settings.forms import MoveForm, PipelineForm, TagEditForm, TagForm, TaxonomyValueForm
from app.urls import absolute_url


@bp.get("/")
@require(SETTINGS)
def index():
    return render("settings/index.html")


@bp.route("/pipeline", methods=["GET", "POST"])
@require(SETTINGS)
def pipeline():
    from app.crm.pipeline.board import stale_after_days

    form = PipelineForm() if request.method == "POST" else PipelineForm(data={"stale_after_days": stale_after_days()})
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                changed = reference.set_stale_after_days(form.stale_after_days.data, actor=current_user)
            except reference.SettingsError as exc:
                form.stale_after_days.errors.append(str(exc))
            else:
                db.session.commit()
                flash("Saved." if changed else "Nothing changed.", "success")
                return redirect(url_for("settings.pipeline"))
        return render("settings/pipeline.html", context=dict(form=form), status=422)
    return render("settings/pipeline.html", context=dict(form=form))


def _users_page(form: InviteForm, *, invite_link: str | None = None, status: int = 200):
    users = db.session.scalars(
        select(User).order_by(User.is_active.desc(), User.first_name, User.last_name)
    ).all()
    return render("settings/users.html", "users_body", context=dict(users=users, form=form,
                  invite_link=invite_link, roles=list(UserRole)), status=status)


@bp.get("/users")
@require(SETTINGS)
def users():
    return _users_page(InviteForm())


@bp.post("/users/invite")
@require(SETTINGS)
def invite():
    form = InviteForm()
    if not form.validate_on_submit():
        return _users_page(form, status=422)
    try:
        user, token = accounts.invite_user(
            admin=current_user, email=form.email.data, first_name=form.first_name.data,
            last_name=form.last_name.data, role=UserRole(form.role.data))
    except accounts.AccountError as exc:
        form.email.errors.append(str(exc))
        return _users_page(form, status=422)
    db.session.commit()
    link = absolute_url("auth.accept_invite", token=token)
    response = _users_page(InviteForm(formdata=None), invite_link=link)
    return toast(response, f"Invitation created for {user.full_name}")


@bp.post("/users/<user_id>/deactivate")
@require(SETTINGS)
def deactivate(user_id: str):
    return _lifecycle(user_id, accounts.deactivate_user, "{} is deactivated and signed out")


@bp.post("/users/<user_id>/reactivate")
@require(SETTINGS)
def reactivate(user_id: str):
    return _lifecycle(user_id, accounts.reactivate_user, "{} is active again")


@bp.post("/users/<user_id>/invite-link")
@require(SETTINGS)
def reissue_invite(user_id: str):
    user = get_or_404(User, user_id)
    if user.has_password:
        flash(f"{user.full_name} has already set a password.", "warning")
        return redirect(url_for("settings.users"))
    link = absolute_url("auth.accept_invite", token=accounts.invite_token(user))
    return _users_page(InviteForm(formdata=None), invite_link=link)


@bp.post("/users/<user_id>/role")
@require(SETTINGS)
def change_role(user_id: str):
    user = get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(422)
    try:
        accounts.change_role(user, UserRole(form.role.data), admin=current_user)
    except accounts.AccountError as exc:
        return toast(_users_page(InviteForm(formdata=None), status=422), str(exc), "error")
    db.session.commit()
    return toast(_users_page(InviteForm(formdata=None)), f"{user.full_name} is now {user.role.value}")


def _lifecycle(user_id: str, action, message: str):
    user = get_or_404(User, user_id)
    try:
        action(user, admin=current_user)
    except accounts.AccountError as exc:
        if request.headers.get("HX-Request"):
            return toast(_users_page(InviteForm(formdata=None), status=422), str(exc), "error")
        flash(str(exc), "error")
        return redirect(url_for("settings.users"))
    db.session.commit()
    if request.headers.get("HX-Request"):
        return toast(_users_page(InviteForm(formdata=None)), message.format(user.full_name))
    flash(message.format(user.full_name), "success")
    return redirect(url_for("settings.users"))


# ------------------------------------------------------------ dropdown lists (taxonomy)

def _kind_slug(kind: TaxonomyType) -> str:
    return kind.value.lower().replace("_", "-")


def _kind_or_404(slug: str) -> TaxonomyType:
    try:
        return TaxonomyType(slug.upper().replace("-", "_"))
    except ValueError:
        abort(404)


def _taxonomy_page(kind: TaxonomyType, *, form: TaxonomyValueForm | None = None,
                   rename: dict | None = None, status: int = 200):
    return render("settings/taxonomy.html", "taxonomy_body", context=dict(kind=kind, kinds=list(TaxonomyType),
                  kind_slug=_kind_slug, labels=reference.TAXONOMY_LABELS,
                  counts=reference.taxonomy_counts(), values=reference.taxonomy_values(kind),
                  form=form or TaxonomyValueForm(formdata=None), rename=rename or {},
                  changes=reference.recent_changes(("settings.taxonomy_changed",))), status=status)


def _taxonomy_done(kind: TaxonomyType, message: str):
    """After a change: the list re-rendered in place (htmx), or back to the page."""
    if is_htmx():
        return toast(_taxonomy_page(kind), message)
    flash(message, "success")
    return redirect(url_for("settings.taxonomy", kind=_kind_slug(kind)), 303)


@bp.get("/lists")
@require(SETTINGS)
def taxonomy_index():
    return redirect(url_for("settings.taxonomy", kind=_kind_slug(TaxonomyType.INDUSTRY)))


@bp.get("/lists/<kind>")
@require(SETTINGS)
def taxonomy(kind: str):
    return _taxonomy_page(_kind_or_404(kind))


@bp.post("/lists/<kind>")
@require(SETTINGS)
def add_taxonomy_value(kind: str):
    kind_ = _kind_or_404(kind)
    form = TaxonomyValueForm()
    if not form.validate_on_submit():
        return _taxonomy_page(kind_, form=form, status=422)
    try:
        tv = reference.add_taxonomy_value(kind_, form.value.data, actor=current_user)
    except reference.SettingsError as exc:
        form.value.errors.append(str(exc))
        return _taxonomy_page(kind_, form=form, status=422)
    db.session.commit()
    return _taxonomy_done(kind_, f"Added “{tv.value}”")


@bp.post("/lists/values/<value_id>/rename")
@require(SETTINGS)
def rename_taxonomy_value(value_id: str):
    tv = get_or_404(TaxonomyValue, value_id)
    form = TaxonomyValueForm()
    error = None
    if form.validate_on_submit():
        old = tv.value
        try:
            reference.rename_taxonomy_value(tv, form.value.data, actor=current_user)
        except reference.SettingsError as exc:
            error = str(exc)
        else:
            db.session.commit()
            return _taxonomy_done(tv.type, f"Renamed “{old}” to “{tv.value}”")
    else:
        error = " ".join(form.value.errors) or "Enter a value."
    rename = {"id": tv.id, "value": form.value.data or "", "error": error}
    return _taxonomy_page(tv.type, rename=rename, status=422)


@bp.post("/lists/values/<value_id>/move")
@require(SETTINGS)
def move_taxonomy_value(value_id: str):
    tv = get_or_404(TaxonomyValue, value_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(422)
    reference.move_taxonomy_value(tv, form.direction.data, actor=current_user)
    db.session.commit()
    return _taxonomy_done(tv.type, f"Moved “{tv.value}” {form.direction.data}")


@bp.post("/lists/values/<value_id>/deactivate")
@require(SETTINGS)
def deactivate_taxonomy_value(value_id: str):
    tv = get_or_404(TaxonomyValue, value_id)
    reference.set_taxonomy_value_active(tv, False, actor=current_user)
    db.session.commit()
    return _taxonomy_done(tv.type, f"“{tv.value}” no longer appears in the dropdowns")


@bp.post("/lists/values/<value_id>/reactivate")
@require(SETTINGS)
def reactivate_taxonomy_value(value_id: str):
    tv = get_or_404(TaxonomyValue, value_id)
    reference.set_taxonomy_value_active(tv, True, actor=current_user)
    db.session.commit()
    return _taxonomy_done(tv.type, f"“{tv.value}” is back in the dropdowns")


# ------------------------------------------------------------------------ tag catalog

def _tags_page(*, form: TagForm | None = None, error: str | None = None, status: int = 200):
    return render("settings/tags.html", "tags_body", context=dict(groups=reference.tags_by_category(),
                  category_labels=reference.TAG_CATEGORY_LABELS, form=form or TagForm(formdata=None),
                  error=error, changes=reference.recent_changes(
                      ("settings.tag_created", "settings.tag_changed", "tag.deleted", "tag.deactivated"))),
                  status=status)


def _tags_done(message: str):
    if is_htmx():
        return toast(_tags_page(), message)
    flash(message, "success")
    return redirect(url_for("settings.tags"), 303)


def _field_error(form, exc: reference.SettingsError) -> str | None:
    """Put a service refusal under its field; return it when no field shows it."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, str(exc)]
        return None
    return str(exc)


@bp.get("/tags")
@require(SETTINGS)
def tags():
    return _tags_page()


@bp.post("/tags")
@require(SETTINGS)
def create_tag():
    form = TagForm()
    if not form.validate_on_submit():
        return _tags_page(form=form, status=422)
    try:
        tag = reference.create_tag(name=form.name.data, category=TagCategory(form.category.data),
                                   color=form.color.data, description=form.description.data,
                                   sort_order=form.sort_order.data, actor=current_user)
    except reference.SettingsError as exc:
        return _tags_page(form=form, error=_field_error(form, exc), status=422)
    db.session.commit()
    return _tags_done(f"Created tag {tag.name}")


@bp.route("/tags/<tag_id>/edit", methods=["GET", "POST"])
@require(SETTINGS)
def edit_tag(tag_id: str):
    tag = get_or_404(Tag, tag_id)
    form = TagEditForm(obj=tag) if request.method == "GET" else TagEditForm()
    if request.method == "GET" and not tag.color:
        form.color.data = "#94a3b8"  # the swatch shown for a tag without a colour
    error = None
    if form.validate_on_submit():
        try:
            reference.update_tag(tag, name=form.name.data, color=form.color.data,
                                 description=form.description.data, sort_order=form.sort_order.data,
                                 actor=current_user)
        except reference.SettingsError as exc:
            error = _field_error(form, exc)
        else:
            db.session.commit()
            flash(f"Tag {tag.name} is saved.", "success")
            return redirect(url_for("settings.tags"), 303)
    status = 422 if request.method == "POST" else 200
    return render("settings/tag_form.html", "tag_form", context=dict(tag=tag, form=form, error=error), status=status)


@bp.post("/tags/<tag_id>/deactivate")
@require(SETTINGS)
def deactivate_tag(tag_id: str):
    tag = get_or_404(Tag, tag_id)
    reference.set_tag_active(tag, False, actor=current_user)
    db.session.commit()
    return _tags_done(f"{tag.name} can no longer be applied")


@bp.post("/tags/<tag_id>/reactivate")
@require(SETTINGS)
def reactivate_tag(tag_id: str):
    tag = get_or_404(Tag, tag_id)
    reference.set_tag_active(tag, True, actor=current_user)
    db.session.commit()
    return _tags_done(f"{tag.name} can be applied again")


@bp.post("/tags/<tag_id>/delete")
@require(SETTINGS)
def delete_tag(tag_id: str):
    tag = get_or_404(Tag, tag_id)
    name = tag.name
    try:
        tagging.delete_tag(tag, actor=current_user)
    except tagging.TagError as exc:
        if is_htmx():
            return toast(_tags_page(error=str(exc), status=422), str(exc), "error")
        return _tags_page(error=str(exc), status=422)
    db.session.commit()
    deleted = inspect(tag).was_deleted
    return _tags_done(f"Deleted tag {name}" if deleted
                      else f"{name} is on leads, so it was deactivated instead of deleted")
