"""Every route × every role: deny unless declared.

ROUTES lists each rule of the URL map (by method) with the roles that may use it; a new
route that is not listed fails `test_every_route_is_declared` with its name. For each
route and role the route is requested (GET, or POST with a valid CSRF token and no
data): a role that may use it must not get 401/403, any other signed-in role must get
403, and a signed-out visitor is sent to /login (public routes excepted).

Path parameters are random ids: an allowed role gets 404 (not 401/403), a refused one
must be refused before anything is loaded. Where a route checks a narrower permission
in its body after loading the object (a rep may open the merge page but not merge),
_path_values gives a real object, so the refusal is a 403, not a 404.
"""
from __future__ import annotations

import re
import uuid

import pytest

from app.auth.models import UserRole
from tests.factories import csrf_token, login

ADMIN, NICK, REP, OPERATOR = UserRole.ADMIN, UserRole.NICK, UserRole.REP, UserRole.OPERATOR
ROLES = (ADMIN, NICK, REP, OPERATOR)  # the interactive roles (app.auth.permissions)
PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = frozenset(ROLES)
SALES = frozenset({ADMIN, NICK, REP})  # sales, inbox, invoices
OWNERS = frozenset({ADMIN, NICK})  # settings, money decisions, merges (NICK is the owner)
WAREHOUSE = frozenset({ADMIN, NICK, OPERATOR})  # packing, inventory

ROUTES: dict[str, object] = {
    "GET /": PUBLIC,
    "GET /account": SIGNED_IN,
    "POST /account": SIGNED_IN,
    "POST /account/sign-out-everywhere": SIGNED_IN,
    "GET /activity/timeline": SALES,  # with a lead_id (see QUERY)
    "POST /addresses/<address_id>/default/<kind>": SALES,
    "POST /addresses/<address_id>/delete": SALES,
    "GET /addresses/<address_id>/edit": SALES,
    "POST /addresses/<address_id>/edit": SALES,
    "GET /calls": SALES,
    "POST /calls/lists": SALES,
    "GET /calls/lists/<list_id>/dial": SALES,
    "POST /calls/lists/<list_id>/dial": SALES,
    "POST /calls/lists/<list_id>/next": SALES,
    "GET /companies": SALES,
    "GET /companies/<company_id>": SALES,
    "GET /companies/<company_id>/addresses": SALES,
    "POST /companies/<company_id>/addresses": SALES,
    "GET /companies/<company_id>/addresses/new": SALES,
    "GET /companies/<company_id>/contacts/new": SALES,
    "POST /companies/<company_id>/contacts/new": SALES,
    "GET /companies/<company_id>/devices": SALES,
    "GET /companies/<company_id>/edit": SALES,
    "POST /companies/<company_id>/edit": SALES,
    "GET /companies/<company_id>/leads/new": SALES,
    "POST /companies/<company_id>/leads/new": SALES,
    "GET /companies/<company_id>/merge": SALES,
    "POST /companies/<company_id>/merge": OWNERS,
    "POST /companies/<company_id>/merge/request": SALES,
    "GET /companies/<company_id>/notes": SALES,
    "POST /companies/<company_id>/notes": SALES,
    "POST /companies/<company_id>/tasks": SALES,
    "GET /companies/check-duplicates": SALES,
    "GET /companies/import": SALES,
    "POST /companies/import": SALES,
    "GET /companies/import/<token>": SALES,
    "POST /companies/import/<token>": SALES,
    "GET /companies/import/<token>/preview": SALES,
    "GET /companies/import/<token>/progress/<mode>": SALES,
    "POST /companies/import/<token>/run": SALES,
    "GET /companies/import/<token>/run": SALES,
    "GET /companies/new": SALES,
    "POST /companies/new": SALES,
    "GET /contacts/<contact_id>": SALES,
    "GET /contacts/<contact_id>/edit": SALES,
    "POST /contacts/<contact_id>/edit": SALES,
    "GET /contacts/<contact_id>/merge": SALES,
    "POST /contacts/<contact_id>/merge": OWNERS,
    "POST /contacts/<contact_id>/merge/request": SALES,
    "GET /healthz": PUBLIC,
    "GET /inbox": SALES,
    "GET /inbox/canned/picker": SALES,  # with a channel and lead_id (see QUERY)
    "GET /inbox/canned/render": SALES,
    "POST /inbox/bookings/<booking_id>/attach": SALES,
    "GET /inbox/bookings/<booking_id>/contacts": SALES,
    "GET /inbox/bookings/unmatched": SALES,
    "POST /inbox/actions": SALES,
    "GET /inbox/conversations/<conversation_id>/contacts": SALES,
    "POST /inbox/conversations/<conversation_id>/attach": SALES,
    "GET /inbox/unread-badge": SALES,
    "POST /leads/<lead_id>/conversations/read": SALES,  # inbox2: opening the lead marks it read
    "GET /inbox/conversations/<conversation_id>/new-lead": SALES,
    "POST /inbox/conversations/<conversation_id>/new-lead": SALES,
    "GET /inbox/bookings/<booking_id>/new-lead": SALES,
    "POST /inbox/bookings/<booking_id>/new-lead": SALES,
    "GET /invite/<token>": PUBLIC,
    "POST /invite/<token>": PUBLIC,
    "GET /invoices": SALES,
    "GET /invoices/<invoice_id>": SALES,
    "GET /invoices/<invoice_id>/fulfillment": SALES,
    "POST /invoices/<invoice_id>/lines": SALES,
    "POST /invoices/<invoice_id>/lines/<line_id>": SALES,
    "POST /invoices/<invoice_id>/lines/<line_id>/delete": SALES,
    "GET /invoices/<invoice_id>/lines/new": SALES,
    "POST /invoices/<invoice_id>/reissue": SALES,
    "POST /invoices/<invoice_id>/release": SALES,
    "POST /invoices/<invoice_id>/terms": SALES,
    "POST /invoices/<invoice_id>/void": OWNERS,
    "GET /invoices/<uuid:invoice_id>/certificate": SALES,
    "POST /invoices/<uuid:invoice_id>/link/revoke": SALES,
    "POST /invoices/<uuid:invoice_id>/payment-options": SALES,
    "POST /invoices/<uuid:invoice_id>/payments": OWNERS,
    "POST /invoices/<uuid:invoice_id>/payments/<uuid:payment_id>/refund": OWNERS,
    "POST /invoices/<uuid:invoice_id>/requests": SALES,
    "POST /invoices/<uuid:invoice_id>/send": SALES,
    "GET /invoices/<uuid:invoice_id>/sharing": SALES,
    "GET /invoices/<uuid:invoice_id>/sharing/delivery": SALES,
    "GET /invoices/new": SALES,
    "POST /invoices/new": SALES,
    "GET /invoices/unapplied": SALES,
    "POST /invoices/unapplied/<payment_id>/refund": OWNERS,
    "GET /leads": SALES,
    "GET /leads/<lead_id>": SALES,
    "GET /leads/<lead_id>/bookings": SALES,
    "POST /leads/<lead_id>/calls": SALES,
    "GET /leads/<lead_id>/edit": SALES,
    "POST /leads/<uuid:lead_id>/email": SALES,
    "GET /leads/<uuid:lead_id>/thread": SALES,
    "GET /contacts/<uuid:contact_id>/thread": SALES,
    "POST /leads/<uuid:lead_id>/sms": SALES,
    "POST /leads/<lead_id>/edit": SALES,
    "POST /leads/<lead_id>/notes": SALES,
    "POST /leads/<lead_id>/stage": SALES,
    "POST /leads/<lead_id>/tags": SALES,
    "POST /leads/<lead_id>/tags/<slug>/remove": SALES,
    "POST /leads/<lead_id>/tasks": SALES,
    "POST /leads/bulk": SALES,
    "GET /leads/new": SALES,
    "GET /login": PUBLIC,
    "POST /login": PUBLIC,
    "GET /login/unlock/<token>": PUBLIC,
    "POST /logout": PUBLIC,
    "GET /notes/<note_id>/edit": SALES,
    "POST /notes/<note_id>/edit": SALES,
    "GET /outbox": SALES,
    "GET /outbox/<uuid:message_id>": SALES,
    "GET /outbox/customers": SALES,
    "POST /outbox/<channel>/<uuid:message_id>/reply": SALES,
    "GET /pay/<token>": PUBLIC,
    "GET /pay/<token>/certificate": PUBLIC,
    "POST /pay/<token>/checkout": PUBLIC,
    "GET /pay/<token>/sandbox-checkout": PUBLIC,
    "POST /pay/<token>/sandbox-checkout": PUBLIC,
    "POST /pay/<token>/sign": PUBLIC,
    "GET /pay/<token>/thanks": PUBLIC,
    "GET /pipeline": SALES,
    "GET /pipeline/columns/<stage>": SALES,
    "POST /pipeline/leads/<lead_id>/move": SALES,
    "GET /search": SALES,
    "GET /settings/": OWNERS,
    "GET /settings/billing": OWNERS,
    "GET /settings/billing/<kind>": OWNERS,
    "POST /settings/billing/<kind>": OWNERS,
    "GET /settings/billing/<kind>/<entry_id>": OWNERS,
    "POST /settings/billing/<kind>/<entry_id>": OWNERS,
    "POST /settings/billing/<kind>/<entry_id>/active": OWNERS,
    "GET /settings/lists": OWNERS,
    "GET /settings/lists/<kind>": OWNERS,
    "POST /settings/lists/<kind>": OWNERS,
    "POST /settings/lists/values/<value_id>/deactivate": OWNERS,
    "POST /settings/lists/values/<value_id>/move": OWNERS,
    "POST /settings/lists/values/<value_id>/reactivate": OWNERS,
    "POST /settings/lists/values/<value_id>/rename": OWNERS,
    "GET /settings/jobs": OWNERS,
    "POST /settings/jobs/<job_id>/delete": OWNERS,
    "POST /settings/jobs/<job_id>/retry": OWNERS,
    "GET /settings/pipeline": OWNERS,
    "POST /settings/pipeline": OWNERS,
    "GET /settings/sms-gateways": SALES,  # a rep sees and edits their own phone
    "GET /settings/email-accounts": SALES,  # a rep connects their own mailbox; an admin sees all
    "POST /settings/email-accounts/connect": SALES,
    "GET /settings/email-accounts/oauth/callback": SALES,
    "POST /settings/email-accounts/<uuid:account_id>/sync": SALES,
    "POST /settings/email-accounts/<uuid:account_id>/disconnect": SALES,
    "GET /settings/email-accounts/smtp/new": SALES,
    "POST /settings/email-accounts/smtp/new": SALES,
    "GET /settings/sms-gateways/new": SALES,
    "POST /settings/sms-gateways/new": SALES,
    "GET /settings/sms-gateways/<uuid:gateway_id>": SALES,
    "POST /settings/sms-gateways/<uuid:gateway_id>": SALES,
    "GET /settings/tags": OWNERS,
    "POST /settings/tags": OWNERS,
    "POST /settings/tags/<tag_id>/deactivate": OWNERS,
    "POST /settings/tags/<tag_id>/delete": OWNERS,
    "GET /settings/tags/<tag_id>/edit": OWNERS,
    "POST /settings/tags/<tag_id>/edit": OWNERS,
    "POST /settings/tags/<tag_id>/reactivate": OWNERS,
    "GET /settings/templates": OWNERS,
    "GET /settings/templates/<template_id>": OWNERS,
    "POST /settings/templates/<template_id>": OWNERS,
    "POST /settings/templates/<template_id>/archive": OWNERS,
    "POST /settings/templates/<template_id>/restore": OWNERS,
    "GET /settings/templates/new": OWNERS,
    "POST /settings/templates/new": OWNERS,
    "POST /settings/templates/preview": OWNERS,
    "GET /settings/users": OWNERS,
    "GET /settings/voicemail-drops": OWNERS,
    # sequences (issue 11)
    "GET /settings/sequences": OWNERS,
    "GET /settings/sequences/new": OWNERS,
    "POST /settings/sequences/new": OWNERS,
    "GET /settings/sequences/<definition_id>": OWNERS,
    "POST /settings/sequences/<definition_id>": OWNERS,
    "GET /settings/sequences/<definition_id>/runs": OWNERS,
    "GET /leads/<lead_id>/sequences": SALES,
    "POST /sequence-runs/<run_id>/pause": SALES,
    "POST /sequence-runs/<run_id>/resume": SALES,
    "POST /sequence-runs/<run_id>/cancel": SALES,
    "POST /settings/voicemail-drops": OWNERS,
    "GET /settings/voicemail-drops/<drop_id>/audio": SIGNED_IN,
    "POST /settings/voicemail-drops/<drop_id>/delete": OWNERS,
    "POST /settings/users/<user_id>/deactivate": OWNERS,
    "POST /settings/users/<user_id>/invite-link": OWNERS,
    "POST /settings/users/<user_id>/reactivate": OWNERS,
    "POST /settings/users/<user_id>/role": OWNERS,
    "POST /settings/users/invite": OWNERS,
    "POST /sms/segments": SALES,
    "GET /static/<path:filename>": PUBLIC,
    "GET /tasks": SALES,
    "POST /tasks/<task_id>/complete": SALES,
    "POST /tasks/<task_id>/reassign": SALES,
    "POST /tasks/<task_id>/reopen": SALES,
    "GET /tasks/new": SALES,
    "POST /tasks/new": SALES,
    "GET /warehouse": WAREHOUSE,
    "GET /warehouse/activate": WAREHOUSE,
    "POST /warehouse/activate": WAREHOUSE,
    "GET /warehouse/inventory": WAREHOUSE,
    "POST /warehouse/inventory/intake": WAREHOUSE,
    "POST /warehouse/inventory/pair": WAREHOUSE,
    "POST /warehouse/inventory/status": WAREHOUSE,
    "GET /warehouse/orders/<order_id>": WAREHOUSE,
    "POST /warehouse/orders/<order_id>/cancel": WAREHOUSE,
    "POST /warehouse/orders/<order_id>/pack": WAREHOUSE,
    "POST /warehouse/orders/<order_id>/scan": WAREHOUSE,
    "POST /warehouse/orders/<order_id>/ship": WAREHOUSE,
    "GET /warehouse/orders/<order_id>/slip": WAREHOUSE,
    "POST /warehouse/orders/<order_id>/undo": WAREHOUSE,
    "POST /webhooks/sms": PUBLIC,
    "POST /webhooks/gmail": PUBLIC,
    "POST /webhooks/stripe": PUBLIC,
    "POST /webhooks/calcom": PUBLIC,
    # qbo: QuickBooks (issue 12)
    "GET /settings/quickbooks": OWNERS,
    "GET /settings/quickbooks/callback": OWNERS,
    "POST /settings/quickbooks/connect": OWNERS,
    "POST /settings/quickbooks/disconnect": OWNERS,
    "POST /settings/quickbooks/sync": OWNERS,
    "POST /settings/quickbooks/companies/<company_id>/push": OWNERS,
    "POST /settings/quickbooks/ledger/<row_id>/retry": OWNERS,
    "POST /settings/quickbooks/ledger/<row_id>/resolve": OWNERS,
    "POST /webhooks/quickbooks": PUBLIC,
    # reports (issue 13): reps see their own numbers; the settings they read are the owners'
    "GET /reports": SALES,
    "GET /reports/pipeline": SALES,
    "GET /reports/won-lost": SALES,
    "GET /reports/sources": SALES,
    "GET /reports/activity": SALES,
    "GET /reports/money": SALES,
    "GET /reports/<report>/export.csv": SALES,
    "GET /reports/leads": SALES,
    "GET /reports/leads.csv": SALES,
    "GET /reports/invoices": SALES,
    "GET /reports/invoices.csv": SALES,
    "GET /export/leads.csv": SALES,
    "GET /export/companies.csv": SALES,
    "GET /export/invoices.csv": SALES,
    "POST /views": SALES,
    "POST /views/<view_id>/default": SALES,
    "POST /views/<view_id>/delete": SALES,
    "GET /settings/pipeline/probabilities": OWNERS,
    "POST /settings/pipeline/probabilities": OWNERS,
    "GET /settings/low-stock": OWNERS,
    "POST /settings/low-stock": OWNERS,
    "GET /settings/lost-reasons": OWNERS,
    "POST /settings/lost-reasons": OWNERS,
    # views (issue 13): the tasks and inbox lists' CSV; large exports as jobs
    "GET /export/tasks.csv": SALES,
    "GET /export/inbox.csv": SALES,
    "POST /exports": SALES,
    "GET /exports/<export_id>": SALES,
    "GET /exports/<export_id>/download": SALES,
}

# Query strings a route needs to reach its permission check.
QUERY = {"GET /activity/timeline": "?lead_id={uuid}",
         "GET /inbox/canned/picker": "?channel=SMS&lead_id={uuid}",
         "GET /inbox/canned/render": "?template_id={uuid}&lead_id={uuid}"}

def _routes(app) -> list[str]:
    return sorted(f"{method} {rule.rule}" for rule in app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"})

def test_every_route_is_declared(app):
    routes = set(_routes(app))
    unlisted = sorted(routes - ROUTES.keys())
    assert not unlisted, ("routes with no roles declared in tests/integration/test_route_permissions.py "
                          f"ROUTES (deny unless declared): {unlisted}")
    gone = sorted(ROUTES.keys() - routes)
    assert not gone, f"ROUTES lists routes the app no longer has: {gone}"

def _url(key: str, values: dict[str, str]) -> str:
    def fill(match):
        converter, name = match.group(1), match.group(2)
        if name in values:
            return values[name]
        if converter == "path":
            return "css/app.css"
        return {"kind": "payment_terms", "stage": "HOT", "mode": "preview"}.get(name, str(uuid.uuid4()))

    path = re.sub(r"<(?:(\w+):)?(\w+)>", fill, key.split(" ", 1)[1])
    return path + QUERY.get(key, "").format(uuid=uuid.uuid4())

def _request(client, app, key: str, values: dict[str, str]):
    method = key.split(" ", 1)[0]
    url = _url(key, values)
    if method == "GET":
        return client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(client, app)})

def _path_values(key: str, factory) -> dict[str, str]:
    """Real objects for routes whose narrower check comes after loading them."""
    if key == "POST /companies/<company_id>/merge":
        return {"company_id": str(factory.company().id)}
    if key == "POST /contacts/<contact_id>/merge":
        return {"contact_id": str(factory.contact(factory.company()).id)}
    return {}

@pytest.mark.parametrize("key", sorted(ROUTES))
def test_route_answers_each_role_as_declared(app, db_session, factory, key):
    allowed = ROUTES[key]
    values = _path_values(key, factory)

    response = _request(app.test_client(), app, key, values)
    if allowed == PUBLIC:
        assert response.status_code not in (401, 403), f"{key} signed out: {response.status_code}"
    else:
        assert response.status_code == 302 and "/login" in response.headers["Location"], (
            f"{key} signed out: {response.status_code} {response.headers.get('Location')}")

    # refused roles first: an allowed role's request may change or delete the object
    for role in sorted(ROLES, key=lambda r: allowed == PUBLIC or r in allowed):
        client = app.test_client()
        login(client, factory.user(role))
        response = _request(client, app, key, values)
        if allowed == PUBLIC or role in allowed:
            assert response.status_code not in (401, 403), f"{key} as {role.value}: {response.status_code}"
        else:
            assert response.status_code == 403, f"{key} as {role.value}: {response.status_code}, not 403"


@pytest.mark.parametrize(("scope", "allowed"), [
    ("lead_id", SALES), ("contact_id", SALES), ("company_id", SALES), ("user_id", OWNERS)])
def test_each_timeline_scope_needs_its_page_permission(app, db_session, factory, scope, allowed):
    """/activity/timeline serves four pages' timelines: each scope is checked on its own."""
    for role in ROLES:
        client = app.test_client()
        login(client, factory.user(role))
        response = client.get(f"/activity/timeline?{scope}={uuid.uuid4()}")
        expected = "allowed" if role in allowed else 403
        got = "allowed" if response.status_code not in (401, 403) else response.status_code
        assert got == expected, f"{scope} as {role.value}: {response.status_code}"
