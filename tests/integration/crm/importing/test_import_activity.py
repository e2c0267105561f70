"""The import writes its activities through the activity service (in bulk): each created
lead gets its "lead.imported" row and is marked for scoring, as any other activity does."""
from __future__ import annotations

from sqlalchemy import select

from app.activity.models import Activity
from app.activity.services import LEADS_TO_SCORE
from app.crm.models import Lead
from app.queue import redis_connection
from tests.integration.crm.importing.test_import import PLUSVIBE, import_file, rep  # noqa: F401 (fixture)


def test_imported_leads_are_marked_for_scoring(client, app, db_session, rep):  # noqa: F811
    redis_connection().delete(LEADS_TO_SCORE)
    state = import_file(client, app, PLUSVIBE.read_bytes(), "plusvibe.csv")
    leads = set(db_session.scalars(select(Lead.id).where(Lead.source == "Plusvibe")))
    assert len(leads) == state["leads_new"] == 28
    imported = db_session.execute(select(Activity.lead_id, Activity.user_id, Activity.occurred_at).where(
        Activity.activity_type == "lead.imported")).all()
    assert {lead_id for lead_id, _, _ in imported} == leads
    assert {user_id for _, user_id, _ in imported} == {rep.id}
    assert all(occurred is not None for _, _, occurred in imported)
    marked = {member.decode() for member in redis_connection().smembers(LEADS_TO_SCORE)}
    assert {str(lead_id) for lead_id in leads} <= marked
