from urllib.parse import urlsplit

from flask import flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp, services, throttle
from app.auth.forms import ChangePasswordForm, LoginForm, SetPasswordForm
from app.auth.permissions import home_endpoint
from app.errors import error_response
from app.extensions import db, limiter
from app.htmx import render

BAD_CREDENTIALS = "That e-mail and password do not match an active account."
TOO_MANY_HERE = "Too many failed sign-ins from here. Wait a few minutes and try again."
# The same words whether the account exists or not (nothing is enumerable).
LOCKED_EVERYWHERE = ("Too many failed sign-ins for this account from many places, so signing in is "
                     "paused. If the account is yours, we e-mailed you a link that unlocks it on your browser.")
# Guessing the current password from a stolen session is throttled per account.
ACCOUNT_PASSWORD_LIMIT = "10 per 15 minutes"


def safe_next(target: str | None) -> str | None:
    """Only same-site relative paths: no scheme, no host, no '//' or '\\' tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.errorhandler(429)
def _too_many(error):
    if request.endpoint != "auth.login":
        return error_response(429)
    limit = getattr(error, "limit", None)
    message = LOCKED_EVERYWHERE if getattr(limit, "scope", None) == throttle.SCOPE_EMAIL else TOO_MANY_HERE
    form = LoginForm()
    return render("auth/login.html", "login_form", status=429, context=dict(form=form, error=message))


@bp.route("/login", methods=["GET", "POST"])
@throttle.limits
def login():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None:
            db.session.commit()
            session.clear()  # a fresh session: no fixation across sign-in
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for(home_endpoint(user)))
        error = BAD_CREDENTIALS
    status = 422 if request.method == "POST" else 200
    return render("auth/login.html", "login_form", context=dict(form=form, error=error), status=status)


@bp.get("/login/unlock/<token>")
def unlock_sign_in(token: str):
    """The link e-mailed when an account's sign-in was locked from many places."""
    email = throttle.unlock_this_browser(token)
    if email is None:
        flash("This unlock link is not valid or has expired.", "warning")
    else:
        flash("Signing in is unlocked on this browser. Sign in with your password.", "success")
    return redirect(url_for("auth.login"))


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.post("/account/sign-out-everywhere")
@login_required
def sign_out_everywhere():
    services.end_all_sessions(current_user, actor=current_user)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out on every device.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@limiter.limit("30 per 10 minutes", methods=["POST"])
def accept_invite(token: str):
    check = services.check_invite(token)
    if check.user is None:
        return render("auth/invite_invalid.html", context=dict(message=check.problem), status=410)
    form = SetPasswordForm()
    if form.validate_on_submit():
        services.set_password(check.user, form.password.data)
        db.session.commit()
        logout_user()
        session.clear()
        login_user(check.user)
        flash(f"Welcome, {check.user.first_name}. Your password is set.", "success")
        return redirect(url_for(home_endpoint(check.user)))
    status = 422 if request.method == "POST" else 200
    return render("auth/accept_invite.html", "invite_form", context=dict(form=form, invited=check.user,
                  token=token), status=status)


def _account_key() -> str:
    return "account-password:" + (current_user.get_id() or "").partition(":")[0]


@bp.route("/account", methods=["GET", "POST"])
@login_required
@limiter.limit(ACCOUNT_PASSWORD_LIMIT, methods=["POST"], key_func=_account_key, deduct_when=throttle.failed,
               scope="account-password")
def account():
    """Profile, password change (with the current password) and 'sign out everywhere'."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(current_user, current_password=form.current.data,
                                     new_password=form.password.data)
        except services.AccountError as exc:
            form.current.errors.append(str(exc))
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # this session continues under the new version
            flash("Your password is changed. Other sessions were signed out.", "success")
            return redirect(url_for("auth.account"))
    status = 422 if request.method == "POST" else 200
    return render("auth/account.html", "password_form", context=dict(form=form), status=status)
