"""E-mail from the lead page: the composer's refusals, the QUEUED row and its job in the
request's transaction, sent exactly once (a second run sends nothing; a worker killed after
the send is settled by the reconciler without a resend), do-not-contact at send time, our own
Message-ID with In-Reply-To / References on a reply (over a real SMTP server)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlalchemy import func, select, update

from app.auth.models import UserRole
from app.inbox.email import jobs, services
from app.inbox.models import EmailMessage, EmailStatus, EmailThread
from app.inbox.sending import reconcile_send, sweep_stuck_sends
from app.integrations.models import OutboxMessage
from app.job_outbox.models import OutboxJob
from tests.factories import csrf_token, login
from tests.integration.test_payments import work_all
from tests.integration.test_smtp import smtp_server  # noqa: F401 (a fixture)


@pytest.fixture
def rep(factory):
    return factory.user(UserRole.REP)


@pytest.fixture
def lead(factory, db_session):
    company = factory.company()
    contact = factory.contact(company, email="Mike.D@ABC-Towing.example.com",
                              email_normalized="mike.d@abc-towing.example.com")
    made = factory.lead(company, contact)
    db_session.commit()
    return made


def post_email(client, app, lead, subject="Your GPS trackers", body="Hi Mike, 14 trackers at $79 each.",
               **extra):
    return client.post(f"/leads/{lead.id}/email", headers={"HX-Request": "true"},
                       data={"subject": subject, "body": body, "csrf_token": csrf_token(client, app), **extra})


def emails_of(db_session, lead):
    return db_session.scalars(select(EmailMessage).join(EmailThread).where(EmailThread.lead_id == lead.id)
                              .order_by(EmailMessage.created_at)).all()


def outbox_copies(db_session, message):
    return db_session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.message_key == message.message_id))


# --- the composer -------------------------------------------------------------------------

@pytest.mark.parametrize("subject, body", [("", "Hi"), ("Hello", ""), ("   ", "Hi"), ("Hello", "  \n ")])
def test_an_empty_subject_or_body_is_refused(client, app, db_session, rep, lead, subject, body):
    login(client, rep)
    response = post_email(client, app, lead, subject=subject, body=body)
    assert response.status_code == 422
    assert emails_of(db_session, lead) == []
    assert db_session.scalar(select(func.count()).select_from(OutboxJob)
                             .where(OutboxJob.func == "app.inbox.email.jobs.send_email")) == 0


def test_a_contact_without_an_email_address_cannot_be_emailed(client, app, db_session, rep, factory):
    company = factory.company()
    lead = factory.lead(company, factory.contact(company, email=None, email_normalized=None))
    db_session.commit()
    login(client, rep)
    page = client.get(f"/leads/{lead.id}/thread")
    assert "The contact has no e-mail address." in page.text and 'id="email-body" name="body" rows="5" disabled' \
        in page.text
    response = post_email(client, app, lead)
    assert response.status_code == 422 and "no e-mail address" in response.text
    assert emails_of(db_session, lead) == []


def test_the_lead_page_loads_the_panel_lazily(client, rep, lead):
    login(client, rep)
    page = client.get(f"/leads/{lead.id}")
    assert f'hx-get="/leads/{lead.id}/thread"' in page.text
    panel = client.get(f"/leads/{lead.id}/thread")
    assert panel.status_code == 200 and "data-canned-picker" in panel.text
    assert 'data-subject-target="#email-subject"' in panel.text and "EMAIL" in panel.text


# --- sending once -------------------------------------------------------------------------

def test_an_email_is_queued_with_its_job_then_sent_once_through_the_outbox(client, app, db_session, rep, lead):
    login(client, rep)
    assert post_email(client, app, lead).status_code == 200
    [message] = emails_of(db_session, lead)
    assert message.status is EmailStatus.QUEUED and message.to_address == "Mike.D@ABC-Towing.example.com"
    assert message.message_id == f"<{message.id}@example.com>" and message.in_reply_to is None
    job = db_session.scalar(select(OutboxJob).where(OutboxJob.job_key == f"email-send-{message.id}-0"))
    assert job is not None and job.func == "app.inbox.email.jobs.send_email"

    work_all()
    db_session.expire_all()
    assert message.status is EmailStatus.SENT and message.sent_at is not None and message.attempts == 1
    assert outbox_copies(db_session, message) == 1
    # the job runs again (at least once delivery): nothing more is sent
    assert jobs.send_email(str(message.id)) == "not queued"
    assert outbox_copies(db_session, message) == 1
    page = client.get(f"/leads/{lead.id}/thread")
    assert "Hi Mike, 14 trackers" in page.text and "Sent" in page.text


def test_a_reply_keeps_the_thread_with_in_reply_to_and_references(client, app, db_session, rep, lead):
    login(client, rep)
    post_email(client, app, lead)
    [first] = emails_of(db_session, lead)
    services.ingest_inbound_email("Mike <mike.d@abc-towing.example.com>", "sales@example.com", "Re: Your GPS trackers",
                                  "Sounds good", "<r1@abc-towing.example.com>", in_reply_to=first.message_id,
                                  references=first.message_id)
    db_session.commit()
    page = client.get(f"/leads/{lead.id}/thread")
    assert f'name="thread_id" type="hidden" value="{first.thread_id}"' in page.text
    assert post_email(client, app, lead, subject="Re: Your GPS trackers", body="Great, invoice attached.",
                      thread_id=str(first.thread_id)).status_code == 200
    first_, inbound, reply = emails_of(db_session, lead)
    assert {m.thread_id for m in (first_, inbound, reply)} == {first.thread_id}
    assert reply.in_reply_to == "<r1@abc-towing.example.com>"
    assert reply.references == f"{first.message_id} <r1@abc-towing.example.com>"
    assert reply.message_id == f"<{reply.id}@example.com>"


def test_the_threading_headers_go_out_over_smtp(client, app, db_session, rep, lead, smtp_server,  # noqa: F811
                                                 monkeypatch):
    inbox, port, _ = smtp_server(tls=False)
    for key, value in {"MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                       "SMTP_STARTTLS": "false", "SMTP_USERNAME": "crm", "SMTP_PASSWORD": "s3cret"}.items():
        monkeypatch.setitem(app.config, key, value)
    login(client, rep)
    post_email(client, app, lead)
    [first] = emails_of(db_session, lead)
    assert jobs.send_email(str(first.id)) == "sent"
    post_email(client, app, lead, subject="Re: Your GPS trackers", body="Following up.",
               thread_id=str(first.thread_id))
    second = emails_of(db_session, lead)[1]
    assert jobs.send_email(str(second.id)) == "sent"
    one, two = (message_from_bytes(raw, policy=default_policy) for _, _, raw in inbox.received)
    assert one["Message-ID"] == first.message_id and one["In-Reply-To"] is None
    assert two["Message-ID"] == second.message_id
    assert two["In-Reply-To"] == first.message_id and two["References"] == first.message_id


def test_do_not_contact_is_checked_again_at_send_time(client, app, db_session, rep, lead):
    login(client, rep)
    post_email(client, app, lead)
    [message] = emails_of(db_session, lead)
    lead.is_dnc = True  # the customer unsubscribed between the click and the send
    db_session.commit()
    assert jobs.send_email(str(message.id)) == "refused"
    db_session.expire_all()
    assert message.status is EmailStatus.FAILED and message.error == "do not contact"
    assert outbox_copies(db_session, message) == 0
    page = client.get(f"/leads/{lead.id}/thread")
    assert "Do not contact" in page.text and 'type="submit" disabled' in page.text
    assert post_email(client, app, lead).status_code == 422
    assert len(emails_of(db_session, lead)) == 1


def _crash_after_the_send(db_session, message) -> None:
    """The job's steps up to the send, then the worker dies: the SENDING claim and the
    backend's copy are committed, the SENT record never is."""
    from app.integrations.mail import get_mail_backend

    claimed = services.claim_for_send(message.id)
    mail = services.mail_for(claimed.id)
    db_session.commit()
    get_mail_backend().send(mail)
    db_session.commit()
    db_session.expire_all()


def _age_the_claim(db_session, message, minutes: int) -> None:
    db_session.execute(update(EmailMessage).where(EmailMessage.id == message.id)
                       .values(claimed_at=datetime.now(UTC) - timedelta(minutes=minutes)))
    db_session.commit()


def test_killed_after_the_send_the_outbox_reconciler_settles_it_without_resending(client, app, db_session, rep,
                                                                                   lead):
    login(client, rep)
    post_email(client, app, lead)
    [message] = emails_of(db_session, lead)
    _crash_after_the_send(db_session, message)
    assert message.status is EmailStatus.SENDING and outbox_copies(db_session, message) == 1
    assert jobs.send_email(str(message.id)) == "not queued"  # a re-run of the job does not resend
    assert sweep_stuck_sends("email") == 0  # too young
    _age_the_claim(db_session, message, 5)
    assert sweep_stuck_sends("email") == 1
    db_session.commit()
    work_all()
    db_session.expire_all()
    assert message.status is EmailStatus.SENT and outbox_copies(db_session, message) == 1


def test_killed_before_the_send_the_reconciler_queues_it_again_and_it_is_sent_once(client, app, db_session, rep,
                                                                                   lead):
    login(client, rep)
    post_email(client, app, lead)
    [message] = emails_of(db_session, lead)
    services.claim_for_send(message.id)
    db_session.commit()  # claimed, then the worker died before the send
    _age_the_claim(db_session, message, 5)
    assert reconcile_send("email", str(message.id)) == "requeued"
    work_all()
    db_session.expire_all()
    assert message.status is EmailStatus.SENT and message.attempts == 2
    assert outbox_copies(db_session, message) == 1


def test_killed_after_an_smtp_send_it_is_failed_for_a_person_not_resent(client, app, db_session, rep, lead,
                                                                         monkeypatch):
    login(client, rep)
    post_email(client, app, lead)
    [message] = emails_of(db_session, lead)
    services.claim_for_send(message.id)
    db_session.commit()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", "9")  # nothing listens: a resend would fail loudly
    _age_the_claim(db_session, message, 5)
    assert sweep_stuck_sends("email") == 0  # SMTP cannot be looked up: a person is told after 15 minutes
    _age_the_claim(db_session, message, 16)
    assert reconcile_send("email", str(message.id)) == "unknown"
    db_session.expire_all()
    assert message.status is EmailStatus.FAILED and message.error.startswith("unknown — check Sent")
    assert jobs.send_email(str(message.id)) == "not queued"
    page = client.get(f"/leads/{lead.id}/thread")
    assert "unknown — check Sent" in page.text


def _smtp_config(app, monkeypatch, port, password="s3cret"):
    for key, value in {"MAIL_BACKEND": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port),
                       "SMTP_STARTTLS": "false", "SMTP_USERNAME": "crm", "SMTP_PASSWORD": password}.items():
        monkeypatch.setitem(app.config, key, value)


def test_a_permanent_smtp_refusal_is_failed_with_the_servers_reason(client, app, db_session, rep, lead,
                                                                   smtp_server, monkeypatch):  # noqa: F811
    inbox, port, _ = smtp_server(tls=False)
    _smtp_config(app, monkeypatch, port, password="wrong")
    login(client, rep)
    post_email(client, app, lead)
    [message] = emails_of(db_session, lead)
    assert jobs.send_email(str(message.id)) == "failed"
    db_session.expire_all()
    assert message.status is EmailStatus.FAILED and message.error.startswith("535") and inbox.received == []
    assert "535" in client.get(f"/leads/{lead.id}/thread").text


def test_a_temporary_failure_goes_back_to_queued_for_the_retry_then_fails_on_the_last(client, app, db_session,
                                                                                    rep, lead, monkeypatch):
    import app.queue as queue_module
    from app.integrations.mail import DeliveryFailed
    from tests.integration.test_smtp import free_port

    _smtp_config(app, monkeypatch, free_port())  # nothing listens: connection refused
    login(client, rep)
    post_email(client, app, lead)
    [message] = emails_of(db_session, lead)
    monkeypatch.setattr(queue_module, "last_attempt", lambda: False)
    with pytest.raises(DeliveryFailed):
        jobs.send_email(str(message.id))
    db_session.expire_all()
    assert message.status is EmailStatus.QUEUED and message.error  # RQ retries the same row
    monkeypatch.setattr(queue_module, "last_attempt", lambda: True)
    assert jobs.send_email(str(message.id)) == "failed"
    db_session.expire_all()
    assert message.status is EmailStatus.FAILED and message.attempts == 2
