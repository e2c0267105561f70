"""/outbox/customers (development): one page for the e-mails and texts the outbox backends
"sent" to leads, newest first, each with one "reply as the customer" form; one reply route
for both channels (the per-channel ingest is tested with each channel)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from app.auth.models import UserRole
from app.inbox.email.jobs import send_email as send_email_job
from app.inbox.email.services import send_email
from app.inbox.sms.models import SmsOutboxMessage
from app.integrations.models import OutboxMessage
from tests.factories import csrf_token, login


def test_one_page_lists_texts_and_emails_newest_first_with_a_reply_each(app, client, db_session, factory):
    rep = factory.user(UserRole.REP)
    lead = factory.lead()
    lead.contact.email = "buyer@fleet.example.com"
    message = send_email(lead, subject="Your quote", body="Attached.", actor=rep)
    db_session.commit()
    assert send_email_job(str(message.id)) == "sent"
    text = factory._add(SmsOutboxMessage(id=uuid.uuid4(), from_number="+12145550188", to_number="+12145550143",
                                         body="14 trackers at $79", created_at=datetime.now(UTC) + timedelta(seconds=5)))
    db_session.commit()
    sent = db_session.query(OutboxMessage).filter_by(message_key=message.message_id).one()
    login(client, rep)
    html = client.get("/outbox/customers").get_data(as_text=True)
    assert html.index("14 trackers at $79") < html.index("Your quote")  # newest first
    assert f'action="/outbox/sms/{text.id}/reply"' in html and f'action="/outbox/email/{sent.id}/reply"' in html
    assert f'href="/outbox/{sent.id}"' in html  # the e-mail's full view
    token = csrf_token(client, app)
    empty = client.post(f"/outbox/sms/{text.id}/reply", data={"body": " ", "csrf_token": token})
    assert empty.status_code == 422 and "Write the customer&#39;s reply." in empty.get_data(as_text=True)
    assert client.post(f"/outbox/fax/{text.id}/reply", data={"body": "hi", "csrf_token": token}).status_code == 404
    assert client.post(f"/outbox/email/{text.id}/reply", data={"body": "hi", "csrf_token": token}).status_code == 404
    assert "/outbox/customers" in client.get("/outbox").get_data(as_text=True)
