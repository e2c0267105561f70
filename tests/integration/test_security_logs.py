"""Issue 9, security 10: the request log never carries a public token, and X-Request-ID
is echoed and logged only when it is a short plain id."""
from __future__ import annotations

import logging
import re

import pytest

from tests.integration.test_payments import make_invoice


def request_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "crm.request"]


def test_pay_and_invite_tokens_are_redacted_in_the_request_log(client, factory, caplog):
    _, token = make_invoice(factory)
    with caplog.at_level(logging.INFO, logger="crm.request"):
        assert client.get(f"/pay/{token}").status_code == 200
        client.get(f"/pay/{token}/certificate")
        client.get("/invite/some-invite-token-value")
    lines = request_lines(caplog)
    assert len(lines) == 3
    assert all(token not in line and "some-invite-token-value" not in line for line in lines)
    assert "path=/pay/[token] " in lines[0] and "path=/pay/[token]/certificate " in lines[1]
    assert "path=/invite/[token] " in lines[2]


@pytest.mark.parametrize("offered", [
    "x request_id=forged user=admin",
    "a\nINFO crm.request forged line",
    "x" * 65,
    "",
    "ok;drop",
])
def test_an_unfit_request_id_is_replaced(client, caplog, offered):
    with caplog.at_level(logging.INFO, logger="crm.request"):
        response = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": offered})
    echoed = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{16}", echoed)
    [line] = request_lines(caplog)
    assert line.startswith(f"request_id={echoed} method=GET path=/healthz ")


def test_a_plain_request_id_is_kept(client, caplog):
    with caplog.at_level(logging.INFO, logger="crm.request"):
        response = client.get("/healthz", headers={"X-Request-ID": "lb-3f2a-0001"})
    assert response.headers["X-Request-ID"] == "lb-3f2a-0001"
    assert request_lines(caplog)[0].startswith("request_id=lb-3f2a-0001 ")
