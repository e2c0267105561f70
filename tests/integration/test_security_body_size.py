"""Issue 9, security 7: every request body is limited (MAX_CONTENT_LENGTH), uploads and
webhooks have their own limits, and a larger Content-Length is refused with 413 before
anything reads the body: signed out, signed in, on the import's POST and on webhooks."""
from __future__ import annotations

import io

import pytest

from app.auth.models import UserRole
from app.crm.importing import services as importing
from app.security import WEBHOOK_BODY_LIMIT
from tests.factories import login

GIB = 1024 ** 3


class UnreadableBody(io.RawIOBase):
    """A request body that fails the test if anything reads from it."""

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return 0

    def seek(self, offset, whence=0):
        return 0

    def readinto(self, buffer):
        raise AssertionError("the body was read")


def post_claiming(client, path: str, length: int, content_type="multipart/form-data; boundary=x"):
    return client.post(path, input_stream=UnreadableBody(), content_type=content_type,
                       environ_overrides={"CONTENT_LENGTH": str(length)})


@pytest.mark.parametrize("path", ["/companies/import", "/login", "/webhooks/stripe", "/pay/some-token/sign",
                                  "/no-such-page"])
def test_a_huge_body_is_refused_before_it_is_read_signed_out(client, path):
    assert post_claiming(client, path, GIB).status_code == 413


def test_a_huge_body_is_refused_before_it_is_read_signed_in(client, factory):
    login(client, factory.user(UserRole.ADMIN))
    for path in ("/companies/import", "/companies/new", "/settings/users/invite"):
        assert post_claiming(client, path, GIB).status_code == 413, path


def test_the_limits(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert 0 < limit <= 16 * 1024 * 1024
    assert post_claiming(client, "/login", limit + 1).status_code == 413
    # the import's POST takes a 10 MB file; its GET is no upload and keeps the global limit
    assert post_claiming(client, "/companies/import", importing.MAX_UPLOAD_BYTES + 128 * 1024).status_code == 413
    assert app.view_functions["crm.import_upload_post"].body_limit > importing.MAX_UPLOAD_BYTES
    assert getattr(app.view_functions["crm.import_upload"], "body_limit", None) is None
    # webhooks: small
    assert post_claiming(client, "/webhooks/stripe", WEBHOOK_BODY_LIMIT + 1,
                         "application/json").status_code == 413


def test_an_import_between_the_global_and_its_own_limit_is_accepted(app, client, factory):
    from tests.factories import csrf_token

    login(client, factory.user(UserRole.REP))
    data = b"name,phone\r\n" + b"Acme Towing,5125550100\r\n" * ((app.config["MAX_CONTENT_LENGTH"] // 24) + 10)
    response = client.post("/companies/import", data={
        "csrf_token": csrf_token(client, app), "file": (io.BytesIO(data), "big.csv")})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
