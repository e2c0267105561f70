"""`crm run --port <not 5000>` as a newcomer runs it, with no APP_BASE_URL configured: the
invoice e-mail's pay link and the post-payment redirect reach that port. Real processes
end to end: `crm run` (migrations, its RQ worker, the web server) on a database of its
own, and a real Chromium for the rep and the customer."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.auth.models import UserRole
from tests.conftest import make_app
from tests.e2e.conftest import sign_in

pytestmark = pytest.mark.e2e

PASSWORD = "browser pass 123"
SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port != 5000:
            return port


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"crm run exited with {process.returncode}"
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"crm run did not serve {url} within {timeout}s")


@pytest.fixture
def crm_run(databases, redis_url, tmp_path):
    """A rep and an unsent invoice in a fresh database, then `crm run --port N` on it."""
    from flask_migrate import upgrade

    from app.auth.services import create_user
    from app.extensions import db
    from tests.factories import Factory
    from tests.integration.test_payments import make_invoice

    database_url = databases.create("crm_e2e_port")
    app = make_app(database_url, redis_url)
    with app.app_context():
        upgrade()
        rep = create_user(email=f"port-{uuid.uuid4().hex[:8]}@example.com", first_name="Riley",
                          last_name="Rep", role=UserRole.REP, password=PASSWORD)
        invoice, _ = make_invoice(Factory(db.session), send=False, company_name="Port Side Towing")
        db.session.commit()
        ids = (rep.email, invoice.id, invoice.invoice_number)
        db.session.remove()
        db.engine.dispose()

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "APP_BASE_URL"}
    env.update(CRM_ENV="development", DATABASE_URL=database_url, REDIS_URL=redis_url,
               CRM_INSTANCE_PATH=str(tmp_path / "instance"), LOGIN_LIMIT_PER_EMAIL="1000 per minute",
               LOGIN_LIMIT_PER_IP="1000 per minute")
    crm = Path(sys.executable).with_name("crm")
    process = subprocess.Popen([str(crm), "run", "--port", str(port)], env=env, cwd=tmp_path,
                               start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield url, ids
    finally:
        process.send_signal(signal.SIGTERM)  # crm run stops its worker and web server
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def test_the_emailed_link_and_the_payment_redirect_reach_the_port_crm_run_serves(crm_run, browser):
    server, (email, invoice_id, number) = crm_run
    errors: list[str] = []

    rep = browser.new_context(viewport={"width": 1366, "height": 860})
    page = rep.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, server, email, PASSWORD)
    page.goto(f"{server}/invoices/{invoice_id}/sharing")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Sending to").first).to_be_visible()

    # crm run's own worker sends the e-mail into the outbox.
    message = page.get_by_role("link", name=f"Invoice {number}").first
    for _ in range(60):
        page.goto(f"{server}/outbox")
        if message.count():
            break
        time.sleep(0.5)
    message.click()
    link = page.locator(".outbox-message__links a").first.get_attribute("href")
    assert link.startswith(f"{server}/pay/"), link

    customer_context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    customer = customer_context.new_page()
    customer.set_default_timeout(15_000)
    customer.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    customer.goto(link)
    expect(customer.get_by_role("heading", name=f"Invoice {number}")).to_be_visible()
    customer.get_by_label("I agree to sign electronically").check()
    customer.get_by_label("Your full name").fill("Pat Porter")
    customer.get_by_role("button", name="Sign").click()
    expect(customer.get_by_text("Signed by Pat Porter")).to_be_visible()

    customer.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    expect(customer.get_by_text("Sandbox checkout")).to_be_visible()
    customer.get_by_role("button", name=re.compile(r"^Pay \$")).click()
    # The redirect after paying lands on this server, and the page confirms once the
    # worker has delivered the sandbox's Stripe-signed events to the webhook.
    expect(customer).to_have_url(re.compile(rf"^{re.escape(server)}/pay/.+/thanks"))
    expect(customer.get_by_role("heading", name="Paid — thank you!")).to_be_visible(timeout=60_000)
    SHOTS.mkdir(exist_ok=True)
    customer.screenshot(path=str(SHOTS / "pay-link-port-paid.png"), full_page=True)

    customer.goto(link)
    expect(customer.locator("#invoice-status")).to_have_text("Paid")
    assert not [e for e in errors if "Content Security Policy" in e], errors
    rep.close()
    customer_context.close()
