"""`/`: the landing page after sign-in, one per role."""
from flask import redirect, url_for
from flask_login import current_user

from app.auth.models import UserRole
from app.home import bp
from app.home.owner import WORK, owner_home
from app.home.rep import my_day
from app.home.warehouse import warehouse_home
from app.htmx import render


@bp.get("/")
def home():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    role = current_user.role
    if role is UserRole.REP:
        return render("home/rep.html", context=dict(day=my_day(current_user.id)))
    if role in (UserRole.ADMIN, UserRole.NICK):
        return render("home/owner.html", context=dict(home=owner_home(), work=WORK))
    if role is UserRole.OPERATOR:
        return render("home/warehouse.html", context=dict(home=warehouse_home()))
    return redirect(url_for("auth.account"))
