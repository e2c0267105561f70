"""The settings the homes and reports read: stage probabilities, lost reasons (which the lost
dialog suggests), low-stock warnings. Owners and admins change them; bad input is a 422."""
from __future__ import annotations

from app.activity.models import Activity
from app.auth.models import UserRole
from app.crm.models import LeadStage
from app.reports import settings as report_settings
from tests.factories import csrf_token, login
from tests.integration.crm.pipeline.test_pipeline import post_move


def _form(app, client, **values):
    return {"csrf_token": csrf_token(client, app), **{k: str(v) for k, v in values.items()}}


def test_stage_probabilities_are_saved_and_checked(app, client, db_session, factory):
    login(client, factory.user(UserRole.ADMIN))
    values = {stage.value.lower(): p for stage, p in report_settings.DEFAULT_PROBABILITIES.items()}
    bad = client.post("/settings/pipeline/probabilities", data=_form(app, client, **{**values, "quoted": 101}))
    assert bad.status_code == 422 and "Use a percent from 0 to 100." in bad.get_data(as_text=True)
    assert report_settings.stage_probabilities()[LeadStage.QUOTED] == 40
    ok = client.post("/settings/pipeline/probabilities", data=_form(app, client, **{**values, "quoted": 35}))
    assert ok.status_code == 302
    assert report_settings.stage_probabilities()[LeadStage.QUOTED] == 35
    assert db_session.query(Activity).filter(Activity.activity_type == "settings.changed",
                                             Activity.summary.like("%probabilities%")).count() == 1
    assert 'value="35"' in client.get("/settings/pipeline/probabilities").get_data(as_text=True)


def test_lost_reasons_fold_duplicates_and_the_lost_dialog_suggests_them(app, client, db_session, factory):
    login(client, factory.user(UserRole.NICK))
    response = client.post("/settings/lost-reasons", data=_form(
        app, client, reasons="Too expensive\n  too   EXPENSIVE \n\nChose Samsara\n"))
    assert response.status_code == 302
    assert report_settings.lost_reasons() == ["Too expensive", "Chose Samsara"]
    too_many = client.post("/settings/lost-reasons", data=_form(app, client, reasons="\n".join(
        f"Reason {i}" for i in range(report_settings.MAX_REASONS + 1))))
    assert too_many.status_code == 422

    rep = factory.user(UserRole.REP)
    login(client, rep)
    dialog = post_move(client, app, factory.lead(), "LOST")
    assert dialog.status_code == 422
    html = dialog.get_data(as_text=True)
    assert 'data-lost-reason="Too expensive"' in html and 'data-lost-reason="Chose Samsara"' in html
    assert 'name="lost_reason"' in html  # still free text

    # the lead page's stage form suggests the same reasons, from the same partial
    lead = factory.lead()
    page = client.get(f"/leads/{lead.id}").get_data(as_text=True)
    form = page[page.index('class="row stage-change"'):]
    form = form[:form.index("</form>")]
    assert 'data-reasons-for="lead-lost-reason"' in form
    assert 'data-lost-reason="Too expensive"' in form and 'data-lost-reason="Chose Samsara"' in form
    assert 'id="lead-lost-reason" name="lost_reason"' in form  # still free text


def test_low_stock_thresholds_set_and_removed(app, client, db_session, factory):
    login(client, factory.user(UserRole.ADMIN))
    assert client.post("/settings/low-stock", data=_form(app, client, model="GL300", threshold=-1)).status_code == 422
    assert client.post("/settings/low-stock", data=_form(app, client, model="", threshold=3)).status_code == 422
    assert client.post("/settings/low-stock", data=_form(app, client, model=" GL300 ", threshold=12)).status_code == 302
    assert report_settings.low_stock_thresholds()["GL300"] == 12
    assert client.post("/settings/low-stock", data=_form(app, client, model="GL300", threshold="")).status_code == 302
    assert "GL300" not in report_settings.low_stock_thresholds()


def test_reps_and_the_warehouse_may_not_change_them(app, client, factory):
    for role in (UserRole.REP, UserRole.OPERATOR):
        login(client, factory.user(role))
        for url in ("/settings/pipeline/probabilities", "/settings/lost-reasons", "/settings/low-stock"):
            assert client.post(url, data=_form(app, client)).status_code == 403
