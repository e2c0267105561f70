import uuid

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from app.auth import services as accounts
from app.auth.forms import InviteForm, RoleForm
from app.auth.models import User, UserRole
from app.auth.permissions import SETTINGS, require
from app.extensions import db
from app.htmx import render, toast
from app.settings import bp


def _user_or_404(user_id: str) -> User:
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        user = None
    if user is None:
        abort(404)
    return user


@bp.get("/")
@require(SETTINGS)
def index():
    return render("settings/index.html")


def _users_page(form: InviteForm, *, invite_link: str | None = None, status: int = 200):
    users = db.session.scalars(
        select(User).order_by(User.is_active.desc(), User.first_name, User.last_name)
    ).all()
    return render("settings/users.html", "users_body", users=users, form=form,
                  invite_link=invite_link, roles=list(UserRole), status=status)


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
    link = url_for("auth.accept_invite", token=token, _external=True)
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
    user = _user_or_404(user_id)
    if user.has_password:
        flash(f"{user.full_name} has already set a password.", "warning")
        return redirect(url_for("settings.users"))
    link = url_for("auth.accept_invite", token=accounts.invite_token(user), _external=True)
    return _users_page(InviteForm(formdata=None), invite_link=link)


@bp.post("/users/<user_id>/role")
@require(SETTINGS)
def change_role(user_id: str):
    user = _user_or_404(user_id)
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
    user = _user_or_404(user_id)
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
