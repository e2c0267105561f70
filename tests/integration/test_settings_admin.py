"""Settings: the dropdown lists (taxonomy values) and the tag catalog.

Admin only; every change is an activity with before/after; refused input answers
422 with the message and changes nothing.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.activity.models import Activity
from app.auth.models import UserRole
from app.crm.models import LeadTag, Tag, TagCategory, TaxonomyType, TaxonomyValue
from app.settings import services as reference
from tests.factories import csrf_token, login

HX = {"HX-Request": "true"}


@pytest.fixture
def admin(client, factory):
    user = factory.user(UserRole.ADMIN)
    login(client, user)
    return user


def add_values(db_session, kind, *values, active=True):
    rows = []
    for i, value in enumerate(values, start=1):
        row = TaxonomyValue(type=kind, value=value, sort_order=i * 10, active=active)
        db_session.add(row)
        rows.append(row)
    db_session.flush()
    return rows


def values_of(db_session, kind):
    return [(v.value, v.sort_order, v.active) for v in db_session.scalars(
        select(TaxonomyValue).where(TaxonomyValue.type == kind)
        .order_by(TaxonomyValue.sort_order, TaxonomyValue.value))]


def activities(db_session, activity_type):
    return db_session.scalars(select(Activity).where(Activity.activity_type == activity_type)
                              .order_by(Activity.created_at, Activity.occurred_at)).all()


def post(client, app, url, data=None, headers=None):
    return client.post(url, data={"csrf_token": csrf_token(client, app), **(data or {})}, headers=headers)


# ------------------------------------------------------------------ permissions


@pytest.mark.parametrize("role", [UserRole.REP, UserRole.OPERATOR])
def test_only_admins_manage_lists_and_tags(client, app, db_session, factory, role):
    login(client, factory.user(role))
    vendor, = add_values(db_session, TaxonomyType.VENDOR, "Queclink")
    tag = Tag(slug="perm-test", name="Perm test", category=TagCategory.CUSTOM)
    db_session.add(tag)
    db_session.flush()
    before = values_of(db_session, TaxonomyType.VENDOR)
    for method, url in [("get", "/settings/lists/vendor"), ("get", "/settings/tags"),
                        ("post", "/settings/lists/vendor"), ("post", f"/settings/lists/values/{vendor.id}/rename"),
                        ("post", f"/settings/lists/values/{vendor.id}/move"),
                        ("post", f"/settings/lists/values/{vendor.id}/deactivate"),
                        ("post", "/settings/tags"), ("get", f"/settings/tags/{tag.id}/edit"),
                        ("get", "/settings/pipeline"), ("post", "/settings/pipeline"),
                        ("post", f"/settings/tags/{tag.id}/deactivate"), ("post", f"/settings/tags/{tag.id}/delete")]:
        if method == "get":
            response = client.get(url)
        else:
            response = post(client, app, url, {"value": "Hacked", "direction": "up", "name": "Hacked",
                                               "stale_after_days": "2"})
        assert response.status_code == 403, url
    assert values_of(db_session, TaxonomyType.VENDOR) == before
    assert db_session.get(Tag, tag.id).is_active
    assert not activities(db_session, "settings.taxonomy_changed")


def test_settings_index_links_the_new_pages(client, admin):
    page = client.get("/settings/")
    assert page.status_code == 200
    assert b"/settings/lists" in page.data and b"/settings/tags" in page.data


# ---------------------------------------------------------------- dropdown lists


def test_the_list_page_shows_every_type_and_its_values(client, db_session, admin):
    add_values(db_session, TaxonomyType.CELLULAR_CARRIER, "AT&T", "Verizon")
    add_values(db_session, TaxonomyType.CELLULAR_CARRIER, "Sprint", active=False)
    assert client.get("/settings/lists").headers["Location"].endswith("/settings/lists/industry")
    page = client.get("/settings/lists/cellular-carrier")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for kind in TaxonomyType:
        assert reference.TAXONOMY_LABELS[kind] in text
    assert "AT&amp;T" in text and "Verizon" in text and "Sprint" in text and "Inactive" in text
    assert client.get("/settings/lists/nonsense").status_code == 404


def test_add_a_value_at_the_end_with_an_activity(client, app, db_session, admin):
    add_values(db_session, TaxonomyType.INDUSTRY, "Towing", "HVAC")
    response = post(client, app, "/settings/lists/industry", {"value": "  Pool   Service "}, headers=HX)
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)  # the block only
    assert "Pool Service" in response.get_data(as_text=True)
    assert "toast" in response.headers["HX-Trigger"]
    assert values_of(db_session, TaxonomyType.INDUSTRY)[-1] == ("Pool Service", 30, True)
    activity, = activities(db_session, "settings.taxonomy_changed")
    assert activity.user_id == admin.id
    assert activity.detail["before"] is None
    assert activity.detail["after"] == {"value": "Pool Service", "sort_order": 30, "active": True}
    assert activity.detail["type"] == "INDUSTRY"

    # a plain form post redirects back to the list
    response = post(client, app, "/settings/lists/industry", {"value": "Roofing"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/settings/lists/industry")


@pytest.mark.parametrize("value, message", [
    ("Towing", "“Towing” is already in industries."),
    ("  towing ", "“Towing” is already in industries."),  # case and spaces do not make it new
    ("Old Trade", "deactivated. Reactivate it instead"),
    ("", "Enter a value."),
    ("x" * 101, "under 100 characters"),
])
def test_a_refused_value_is_422_and_changes_nothing(client, app, db_session, admin, value, message):
    add_values(db_session, TaxonomyType.INDUSTRY, "Towing")
    add_values(db_session, TaxonomyType.INDUSTRY, "Old Trade", active=False)
    before = values_of(db_session, TaxonomyType.INDUSTRY)
    response = post(client, app, "/settings/lists/industry", {"value": value}, headers=HX)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert values_of(db_session, TaxonomyType.INDUSTRY) == before
    assert not activities(db_session, "settings.taxonomy_changed")


def test_the_same_value_in_another_list_is_fine(client, app, db_session, admin):
    add_values(db_session, TaxonomyType.SOURCE, "Referral")
    response = post(client, app, "/settings/lists/payment-method", {"value": "Referral"})
    assert response.status_code == 303
    assert values_of(db_session, TaxonomyType.PAYMENT_METHOD) == [("Referral", 10, True)]


def test_a_racing_duplicate_is_caught_by_the_unique_index(db_session, factory, monkeypatch):
    """Two admins add the same value at once: the pre-check passes for both, the
    database's unique (type, value) refuses the second, the session stays usable."""
    admin = factory.user(UserRole.ADMIN)
    add_values(db_session, TaxonomyType.VENDOR, "CalAmp")
    monkeypatch.setattr(reference, "_same_value", lambda *a, **k: None)
    with pytest.raises(reference.SettingsError, match="already in device vendors"):
        reference.add_taxonomy_value(TaxonomyType.VENDOR, "CalAmp", actor=admin)
    assert values_of(db_session, TaxonomyType.VENDOR) == [("CalAmp", 10, True)]
    teltonika = reference.add_taxonomy_value(TaxonomyType.VENDOR, "Teltonika", actor=admin)
    calamp = db_session.scalar(select(TaxonomyValue).where(TaxonomyValue.value == "CalAmp"))
    with pytest.raises(reference.SettingsError):
        reference.rename_taxonomy_value(teltonika, "CalAmp", actor=admin)
    db_session.flush()
    assert teltonika.value == "Teltonika" and calamp.value == "CalAmp"


def test_rename_records_before_and_after(client, app, db_session, admin):
    towing, hvac = add_values(db_session, TaxonomyType.INDUSTRY, "Towing", "HVAC")
    response = post(client, app, f"/settings/lists/values/{towing.id}/rename", {"value": "Towing & Recovery"},
                    headers=HX)
    assert response.status_code == 200
    assert towing.value == "Towing & Recovery"
    activity, = activities(db_session, "settings.taxonomy_changed")
    assert activity.detail["before"]["value"] == "Towing" and activity.detail["after"]["value"] == "Towing & Recovery"

    # onto another value of the list: 422, the message next to the row, nothing changed
    response = post(client, app, f"/settings/lists/values/{towing.id}/rename", {"value": "hvac"}, headers=HX)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "“HVAC” is already in industries." in text and f'id="rename-{towing.id}-error"' in text
    assert (towing.value, hvac.value) == ("Towing & Recovery", "HVAC")
    assert post(client, app, f"/settings/lists/values/{towing.id}/rename", {"value": " "}).status_code == 422
    assert len(activities(db_session, "settings.taxonomy_changed")) == 1


def test_move_up_and_down_renumbers_the_list(client, app, db_session, admin):
    a, b, c = add_values(db_session, TaxonomyType.PAYMENT_INTERVAL, "Monthly", "Quarterly", "Annual")
    c.sort_order = b.sort_order = 20  # ties and gaps from older data
    db_session.flush()
    order = lambda: [v for v, _, _ in values_of(db_session, TaxonomyType.PAYMENT_INTERVAL)]  # noqa: E731
    assert order() == ["Monthly", "Annual", "Quarterly"]
    assert post(client, app, f"/settings/lists/values/{b.id}/move", {"direction": "up"}, headers=HX).status_code == 200
    assert order() == ["Monthly", "Quarterly", "Annual"]
    assert [s for _, s, _ in values_of(db_session, TaxonomyType.PAYMENT_INTERVAL)] == [10, 20, 30]
    post(client, app, f"/settings/lists/values/{a.id}/move", {"direction": "down"}, headers=HX)
    assert order() == ["Quarterly", "Monthly", "Annual"]
    post(client, app, f"/settings/lists/values/{c.id}/move", {"direction": "down"}, headers=HX)  # already last
    assert order() == ["Quarterly", "Monthly", "Annual"]
    moves = activities(db_session, "settings.taxonomy_changed")  # one transaction: same timestamps
    assert sorted((m.detail["after"]["value"], m.detail["before"]["sort_order"], m.detail["after"]["sort_order"])
                  for m in moves) == [("Monthly", 10, 20), ("Quarterly", 20, 20)]
    assert post(client, app, f"/settings/lists/values/{a.id}/move", {"direction": "sideways"}).status_code == 422


def test_deactivated_values_leave_the_dropdowns_but_stay_on_records(app, client, db_session, admin):
    from app.crm.records.edit_views import taxonomy_choices

    towing, hvac = add_values(db_session, TaxonomyType.INDUSTRY, "Towing", "HVAC")
    response = post(client, app, f"/settings/lists/values/{hvac.id}/deactivate", headers=HX)
    assert response.status_code == 200 and not hvac.active
    with app.test_request_context():
        assert ("HVAC", "HVAC") not in taxonomy_choices(TaxonomyType.INDUSTRY)
        assert ("HVAC", "HVAC") in taxonomy_choices(TaxonomyType.INDUSTRY, current="HVAC")
    activity, = activities(db_session, "settings.taxonomy_changed")
    assert activity.detail["before"]["active"] is True and activity.detail["after"]["active"] is False
    post(client, app, f"/settings/lists/values/{hvac.id}/reactivate", headers=HX)
    assert hvac.active
    with app.test_request_context():
        assert ("HVAC", "HVAC") in taxonomy_choices(TaxonomyType.INDUSTRY)
    assert len(activities(db_session, "settings.taxonomy_changed")) == 2


# ------------------------------------------------------------------- tag catalog


def make_tag(db_session, slug, category=TagCategory.CUSTOM, **kw):
    kw.setdefault("name", slug.replace("-", " ").title())
    tag = Tag(slug=slug, category=category, **kw)
    db_session.add(tag)
    db_session.flush()
    return tag


def test_tags_are_grouped_and_system_tags_have_no_delete_button(client, db_session, admin):
    system = make_tag(db_session, "callback", TagCategory.DISPOSITION, is_system=True, color="#f59e0b")
    custom = make_tag(db_session, "spanish-speaking")
    page = client.get("/settings/tags")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for category in TagCategory:
        assert f'id="tags-{category.value.lower()}"' in text
    assert f"/settings/tags/{custom.id}/delete" in text
    assert f"/settings/tags/{system.id}/delete" not in text
    assert 'fill="#f59e0b"' in text  # the colour, without an inline style


def test_create_a_tag_with_a_slug_from_its_name(client, app, db_session, admin):
    response = post(client, app, "/settings/tags", {"name": "Fleet Expo 2026!", "category": "CUSTOM",
                                                    "color": "#DB2777", "description": "Met at the booth"},
                    headers=HX)
    assert response.status_code == 200, response.data[:400]
    tag = db_session.scalar(select(Tag).where(Tag.slug == "fleet-expo-2026"))
    assert tag.name == "Fleet Expo 2026!" and tag.color == "#db2777" and not tag.is_system and tag.is_active
    activity, = activities(db_session, "settings.tag_created")
    assert activity.detail["before"] is None and activity.detail["after"]["slug"] == "fleet-expo-2026"
    assert reference.slugify("Peña & Sons — Towing") == "pena-and-sons-towing"


@pytest.mark.parametrize("data, message", [
    ({"name": "Fleet Expo 2026", "category": "CUSTOM"}, "already uses the key"),  # same slug
    ({"name": "fleet expo 2026", "category": "ICP"}, "already uses the key"),
    ({"name": "", "category": "CUSTOM"}, "A tag needs a name."),
    ({"name": "!!!", "category": "CUSTOM"}, "at least one letter or digit"),
    ({"name": "Ok", "category": "CUSTOM", "color": "red"}, "Pick a colour like"),
    ({"name": "Ok", "category": "NOPE"}, "Not a valid choice"),
    ({"name": "Ok", "category": "CUSTOM", "sort_order": "-5"}, "Use a number from 0"),
])
def test_a_refused_tag_is_422_and_creates_nothing(client, app, db_session, admin, data, message):
    make_tag(db_session, "fleet-expo-2026", name="Fleet Expo 2026")
    before = db_session.scalar(select(func.count()).select_from(Tag))
    response = post(client, app, "/settings/tags", data, headers=HX)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Tag)) == before
    assert not activities(db_session, "settings.tag_created")


def test_edit_a_tag_keeps_its_slug(client, app, db_session, admin):
    tag = make_tag(db_session, "callback", TagCategory.DISPOSITION, is_system=True, color="#f59e0b", sort_order=30)
    page = client.get(f"/settings/tags/{tag.id}/edit")
    assert page.status_code == 200 and b'value="Callback"' in page.data
    response = post(client, app, f"/settings/tags/{tag.id}/edit",
                    {"name": "Call back later", "color": "#000000", "description": "Asked us to call",
                     "sort_order": "5"})
    assert response.status_code == 303
    assert (tag.slug, tag.name, tag.color, tag.sort_order) == ("callback", "Call back later", "#000000", 5)
    activity, = activities(db_session, "settings.tag_changed")
    assert activity.detail["before"]["name"] == "Callback" and activity.detail["after"]["name"] == "Call back later"

    response = post(client, app, f"/settings/tags/{tag.id}/edit", {"name": "", "color": "#111111"})
    assert response.status_code == 422 and b"A tag needs a name." in response.data
    db_session.refresh(tag)
    assert tag.name == "Call back later" and tag.color == "#000000"


def test_deactivate_reactivate_and_delete(client, app, db_session, admin, factory):
    unused = make_tag(db_session, "old-campaign")
    used = make_tag(db_session, "spanish-speaking")
    system = make_tag(db_session, "gate-dnc", TagCategory.GATE, is_system=True)
    lead = factory.lead()
    db_session.add(LeadTag(lead_id=lead.id, tag_slug="spanish-speaking"))
    db_session.flush()

    assert post(client, app, f"/settings/tags/{system.id}/deactivate", headers=HX).status_code == 200
    assert not system.is_active
    assert post(client, app, f"/settings/tags/{system.id}/reactivate", headers=HX).status_code == 200
    assert system.is_active
    changes = activities(db_session, "settings.tag_changed")
    assert sorted((c.detail["before"]["is_active"], c.detail["after"]["is_active"]) for c in changes) == \
        [(False, True), (True, False)]

    # a system tag is never deleted: a clear message, 422, nothing changed
    response = post(client, app, f"/settings/tags/{system.id}/delete", headers=HX)
    assert response.status_code == 422
    assert "is a system tag and cannot be deleted" in response.get_data(as_text=True)
    assert db_session.get(Tag, system.id) is not None and system.is_active

    # a tag on leads is deactivated instead; an unused one is deleted
    response = post(client, app, f"/settings/tags/{used.id}/delete", headers=HX)
    assert response.status_code == 200 and "deactivated instead" in response.headers["HX-Trigger"]
    assert db_session.get(Tag, used.id) is not None and not used.is_active
    unused_id = unused.id
    assert post(client, app, f"/settings/tags/{unused_id}/delete").status_code == 303
    assert db_session.get(Tag, unused_id) is None
    assert [a.activity_type for a in activities(db_session, "tag.deleted")] == ["tag.deleted"]


# ------------------------------------------------------------------ pipeline


@pytest.fixture
def fresh_stale_cache():
    from app.crm.pipeline import board

    board.forget_stale_after_days()
    yield
    board.forget_stale_after_days()  # the test's setting is rolled back: so is the cache


def test_the_stale_threshold_is_set_in_settings_and_flags_the_board(client, app, db_session, admin, factory,
                                                                    fresh_stale_cache):
    from datetime import UTC, datetime, timedelta

    from app.crm.models import LeadStage
    from app.crm.pipeline import board

    lead = factory.lead(stage=LeadStage.HOT)
    lead.stage_changed_at = datetime.now(UTC) - timedelta(days=10)
    db_session.flush()
    assert "Pipeline" in client.get("/settings/").get_data(as_text=True)

    def stale() -> bool:
        (card,) = [c for col in board.board(board.BoardFilters()) for c in col.cards if c.id == lead.id]
        return card.stale

    for bad, message in (("0", "from 1 to 365"), ("400", "from 1 to 365"), ("ten", "Not a valid integer")):
        response = post(client, app, "/settings/pipeline", {"stale_after_days": bad})
        assert response.status_code == 422 and message in response.get_data(as_text=True), bad
    assert not activities(db_session, "settings.changed")

    assert post(client, app, "/settings/pipeline", {"stale_after_days": "30"}).status_code == 302
    assert not stale()
    assert post(client, app, "/settings/pipeline", {"stale_after_days": "7"}).status_code == 302
    assert stale()
    assert 'value="7"' in client.get("/settings/pipeline").get_data(as_text=True)
    assert [a.detail["after"] for a in activities(db_session, "settings.changed")] == [30, 7]
    # the same value again: nothing to record
    assert post(client, app, "/settings/pipeline", {"stale_after_days": "7"}).status_code == 302
    assert len(activities(db_session, "settings.changed")) == 2
