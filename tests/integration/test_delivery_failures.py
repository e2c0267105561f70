"""An invoice e-mail that could not be sent reaches a person: the mail job runs on a real RQ
worker against the real Redis and sends through the `smtp` backend to a real socket — a
closed port (connection refused), or a real SMTP server (aiosmtpd) that refuses (5xx, 4xx)
or takes the message. A temporary failure is retried; a permanent one, or the last retry,
marks the message FAILED with the server's reason on the invoice's sharing page, in the
activity log and as a task for the rep who sent it; "Send again" delivers and clears it."""
from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.crm.models import Task
from app.integrations.models import MailDelivery
from app.queue import get_queue
from tests.factories import csrf_token, login
from tests.integration.test_payments import make_invoice, work_all
from tests.integration.test_smtp import Inbox, free_port


class Refusing(Inbox):
    """An SMTP server that answers RCPT TO with `reply` (a 5xx or 4xx refusal)."""

    def __init__(self, reply: str) -> None:
        super().__init__()
        self.reply = reply

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        return self.reply


@pytest.fixture
def smtp(app, monkeypatch):
    """Points the app's mail at 127.0.0.1:<port> (plain SMTP); serve(port, handler) starts a
    real SMTP server there."""
    controllers = []

    def point_at(port: int) -> int:
        for key, value in {"MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                           "SMTP_STARTTLS": "false", "SMTP_USERNAME": "", "SMTP_PASSWORD": ""}.items():
            monkeypatch.setitem(app.config, key, value)
        return port

    def serve(port: int, handler):
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return handler

    yield point_at, serve
    for controller in controllers:
        controller.stop()


def retry_now() -> int:
    """What RQ's scheduler does when a retry's time comes (10 s, 60 s, 300 s later in
    production): move the mail queue's scheduled jobs onto the queue. Returns how many."""
    queue = get_queue("mail")
    registry = queue.scheduled_job_registry
    ids = registry.get_job_ids()
    for job_id in ids:
        job = queue.fetch_job(job_id)
        registry.remove(job)
        queue.enqueue_job(job)
    return len(ids)


def send(client, app, invoice):
    return client.post(f"/invoices/{invoice.id}/send", data={"csrf_token": csrf_token(client, app)},
                       follow_redirects=True)


def sharing_page(client, invoice) -> str:
    response = client.get(f"/invoices/{invoice.id}/sharing")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def deliveries(db_session, invoice) -> list[MailDelivery]:
    db_session.expire_all()
    return db_session.scalars(select(MailDelivery).where(MailDelivery.invoice_id == invoice.id)
                              .order_by(MailDelivery.created_at)).all()


def test_a_closed_mail_port_is_retried_then_reported_to_the_sender_and_send_again_delivers(
        app, client, factory, db_session, smtp):
    point_at, serve = smtp
    port = point_at(free_port())  # nobody listens there: connection refused
    rep = factory.user(UserRole.REP)
    invoice, _ = make_invoice(factory, send=False, actor=rep)
    contact_email = invoice.lead.contact.email
    login(client, rep)

    page = send(client, app, invoice).get_data(as_text=True)
    assert f"Sending to {contact_email}" in page and "Sent to" not in page

    work_all()  # attempt 1: refused, a retry is scheduled
    [delivery] = deliveries(db_session, invoice)
    assert (delivery.status, delivery.attempts) == ("SENDING", 1)
    assert f"127.0.0.1:{port}" in delivery.error and "refused" in delivery.error.lower()
    assert get_queue("mail").scheduled_job_registry.count == 1
    page = sharing_page(client, invoice)
    assert "Sending to" in page and "Attempt 1 failed" in page and "Not delivered" not in page

    for _ in range(3):  # the three retries fail too
        assert retry_now() == 1
        work_all()
    assert retry_now() == 0  # no fifth attempt

    [delivery] = deliveries(db_session, invoice)
    assert (delivery.status, delivery.attempts) == ("FAILED", 4)
    reason = delivery.error
    assert reason.startswith(f"Could not reach the mail server 127.0.0.1:{port}: ")
    # handled where people look, not left in RQ's failed registry
    assert get_queue("mail").failed_job_registry.count == 0

    page = sharing_page(client, invoice)
    assert "Not delivered:" in page and reason in page and ">Send again</button>" in page
    assert "Sent to" not in page

    failure = db_session.scalar(select(Activity).where(Activity.activity_type == "invoice.not_delivered",
                                                       Activity.company_id == invoice.company_id))
    assert failure is not None and reason in failure.summary and invoice.invoice_number in failure.summary
    task = db_session.get(Task, delivery.task_id)
    assert task.assigned_to_id == rep.id and not task.is_completed
    assert task.title == f"Invoice {invoice.invoice_number} was not delivered to {contact_email}"
    assert reason in task.description
    assert not db_session.scalars(select(Activity).where(Activity.activity_type == "invoice.delivered",
                                                         Activity.company_id == invoice.company_id)).all()

    # The mail server is back; the rep sends again.
    inbox = serve(port, Inbox())
    page = send(client, app, invoice).get_data(as_text=True)
    assert "Not delivered" not in page and "Sending to" in page
    work_all()
    [(_, recipients, raw)] = inbox.received
    assert recipients == [contact_email] and b"/pay/" in raw

    failed, delivered = deliveries(db_session, invoice)
    assert (failed.status, delivered.status, delivered.attempts) == ("FAILED", "SENT", 1)
    page = sharing_page(client, invoice)
    assert f"Sent to {contact_email}" in page and "Not delivered" not in page
    assert db_session.get(Task, failed.task_id).is_completed  # the rep's task is done
    assert db_session.scalar(select(Activity).where(Activity.activity_type == "invoice.delivered",
                                                    Activity.company_id == invoice.company_id))
    work_all()  # a re-run of the job sends nothing
    assert len(inbox.received) == 1


def test_a_5xx_refusal_fails_at_once_without_retries(app, client, factory, db_session, smtp):
    point_at, serve = smtp
    port = point_at(free_port())
    serve(port, Refusing("550 5.1.1 <x>: Recipient address rejected: User unknown"))
    rep = factory.user(UserRole.REP)
    invoice, _ = make_invoice(factory, send=False, actor=rep)
    login(client, rep)
    send(client, app, invoice)
    work_all()

    [delivery] = deliveries(db_session, invoice)
    assert (delivery.status, delivery.attempts) == ("FAILED", 1)
    assert delivery.error == "550 5.1.1 <x>: Recipient address rejected: User unknown"
    queue = get_queue("mail")
    assert queue.scheduled_job_registry.count == 0 and queue.failed_job_registry.count == 0
    page = sharing_page(client, invoice)
    assert "Not delivered:" in page and "550 5.1.1 &lt;x&gt;: Recipient address rejected: User unknown" in page
    assert db_session.get(Task, delivery.task_id).assigned_to_id == rep.id


def test_a_4xx_refusal_is_retried(app, client, factory, db_session, smtp):
    point_at, serve = smtp
    port = point_at(free_port())
    serve(port, Refusing("451 4.7.1 Greylisted, please try again later"))
    rep = factory.user(UserRole.REP)
    invoice, _ = make_invoice(factory, send=False, actor=rep)
    login(client, rep)
    send(client, app, invoice)
    work_all()

    [delivery] = deliveries(db_session, invoice)
    assert (delivery.status, delivery.attempts, delivery.task_id) == ("SENDING", 1, None)
    assert delivery.error == "451 4.7.1 Greylisted, please try again later"
    assert get_queue("mail").scheduled_job_registry.count == 1
    # what the sharing page polls while the message is sending
    fragment = client.get(f"/invoices/{invoice.id}/sharing/delivery", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "<html" not in text
    assert "Attempt 1 failed: 451 4.7.1 Greylisted" in text and 'hx-trigger="every 3s"' in text


def test_a_failure_of_a_rep_who_has_left_goes_to_an_admin(app, client, factory, db_session, smtp):
    from app.billing.jobs import send_invoice_email

    point_at, serve = smtp
    port = point_at(free_port())
    admin = factory.user(UserRole.ADMIN)
    rep = factory.user(UserRole.REP)
    invoice, _ = make_invoice(factory, send=False, actor=rep)
    login(client, rep)
    send(client, app, invoice)
    rep.is_active = False
    db_session.commit()
    [delivery] = deliveries(db_session, invoice)
    # the job, called outside RQ: its own last attempt
    send_invoice_email(str(invoice.id), "https://crm.example.com/pay/abc", delivery.to_address,
                       delivery.message_key)

    [delivery] = deliveries(db_session, invoice)
    assert delivery.status == "FAILED"
    task = db_session.get(Task, delivery.task_id)
    assert task.assigned_to_id != rep.id
    assert db_session.get(type(admin), task.assigned_to_id).role in (UserRole.ADMIN, UserRole.NICK)

    # the same job run again once the server is up (an admin's retry): sent, the task done
    inbox = serve(port, Inbox())
    send_invoice_email(str(invoice.id), "https://crm.example.com/pay/abc", delivery.to_address,
                       delivery.message_key)
    [delivery] = deliveries(db_session, invoice)
    assert delivery.status == "SENT" and len(inbox.received) == 1
    assert db_session.get(Task, delivery.task_id).is_completed
