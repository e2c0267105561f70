"""In a real browser: sign in, see the navigation for the role, sign out."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole

pytestmark = pytest.mark.e2e


def create_user(app, role: UserRole, password: str):
    from app.auth.services import create_user as create
    from app.extensions import db

    with app.app_context():
        user = create(email=f"e2e-{uuid.uuid4().hex[:8]}@example.com", first_name="Erin",
                      last_name="Endtoend", role=role, password=password)
        db.session.commit()
        return user.email


def test_rep_signs_in_sees_navigation_and_signs_out(live_app, live_server, page):
    email = create_user(live_app, UserRole.REP, "browser pass 123")
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    page.goto(f"{live_server}/pipeline")
    assert page.url.startswith(f"{live_server}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("That e-mail and password do not match")

    page.get_by_label("Password", exact=True).fill("browser pass 123")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/pipeline")  # where the sign-in was asked for (?next=)

    nav = page.get_by_role("complementary", name="Main")
    labels = [t.strip() for t in nav.locator(".nav__link").all_inner_texts()]
    assert labels == ["Home", "Pipeline", "Inbox", "Calls", "Leads", "Tasks", "Companies", "Invoices", "Reports",
                      "Outbox"]
    expect(page.get_by_role("heading", name="New lead")).to_be_visible()

    nav.get_by_role("link", name="Companies").click()
    page.wait_for_url(f"{live_server}/companies")
    page.screenshot(path=str(_shot("companies.png")))

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server}/login")
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto(f"{live_server}/tasks")
    assert page.url.startswith(f"{live_server}/login")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_admin_sees_settings_and_operator_only_warehouse(live_app, live_server, page):
    email = create_user(live_app, UserRole.OPERATOR, "operator pass 1")
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill("operator pass 1")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/")  # the warehouse's home
    labels = [t.strip() for t in page.locator(".nav__link").all_inner_texts()]
    assert labels == ["Home", "Warehouse"]


def _shot(name: str):
    from pathlib import Path

    out = Path(__file__).resolve().parents[2] / "test-results"
    out.mkdir(exist_ok=True)
    return out / name


def test_admin_invites_through_htmx_and_the_invitee_sets_a_password(live_app, live_server, page, browser):
    """An htmx POST from the real browser carries the CSRF header and swaps the block."""
    email = create_user(live_app, UserRole.ADMIN, "admin pass 123")
    page.goto(f"{live_server}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password", exact=True).fill("admin pass 123")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("link", name="Users").click()
    page.wait_for_url(f"{live_server}/settings/users")

    form = page.locator("#invite-form")
    form.get_by_label("E-mail").fill("not-an-email")
    form.get_by_role("button", name="Create invitation").click()
    page.locator(".field--error").first.wait_for()
    assert page.url == f"{live_server}/settings/users"  # swapped in place, no navigation

    newcomer = f"invitee-{uuid.uuid4().hex[:6]}@example.com"
    form = page.locator("#invite-form")
    form.get_by_label("E-mail").fill(newcomer)
    form.get_by_label("First name").fill("Ivy")
    form.get_by_label("Last name").fill("Invitee")
    form.get_by_role("button", name="Create invitation").click()
    link = page.get_by_label("Invitation link").input_value()
    assert "/invite/" in link
    page.get_by_role("status").filter(has_text="Invitation created").wait_for()

    other = browser.new_context()
    invitee = other.new_page()
    invitee.goto(live_server + link[link.index("/invite/"):])  # the link names APP_BASE_URL
    invitee.get_by_label("New password").fill("ivy's new passphrase")
    invitee.get_by_label("Repeat the password").fill("ivy's new passphrase")
    invitee.get_by_role("button", name="Set password and sign in").click()
    invitee.wait_for_url(f"{live_server}/")
    expect(invitee.get_by_text("Welcome, Ivy")).to_be_visible()
    other.close()
