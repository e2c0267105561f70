"""The `smtp` mail backend against a real SMTP server on this machine (aiosmtpd): the
message as received, login, and STARTTLS that checks the server's certificate."""
from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from app.integrations.mail import DeliveryFailed, MailMessage
from app.integrations.smtp import SmtpBackend


class Inbox:
    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"crm", b"s3cret")
    return AuthResult(success=ok, handled=False)  # (not handled: aiosmtpd answers 535 itself)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(tmp_path, name: str = "localhost"):
    """A certificate for `name` (and 127.0.0.1), signed by itself: (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def smtp_server(tmp_path):
    """Yields a function starting a server: start(tls=False) -> (inbox, port, cert file)."""
    controllers = []

    def start(*, tls: bool):
        inbox, port = Inbox(), free_port()
        cert_file = None
        kwargs = {"auth_require_tls": tls, "authenticator": authenticator}
        if tls:
            cert_file, key_file = self_signed(tmp_path)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert_file, key_file)
            kwargs.update(tls_context=context, require_starttls=True)
        controller = Controller(inbox, hostname="127.0.0.1", port=port, server_hostname="localhost", **kwargs)
        controller.start()
        controllers.append(controller)
        return inbox, port, cert_file

    yield start
    for controller in controllers:
        controller.stop()


MESSAGE = MailMessage(to="tanya@coolbreezeaz.example.com", subject="Invoice INV-2026-00042 from GPS Leaders",
                      body_text="Your invoice is ready: https://crm.example.com/pay/abc",
                      body_html="<p>Your invoice is <a href='https://crm.example.com/pay/abc'>ready</a>.</p>",
                      from_address="GPS Leaders <billing@gpsleaders.example.com>")


def test_a_message_arrives_as_sent_after_login(smtp_server):
    inbox, port, _ = smtp_server(tls=False)
    SmtpBackend(host="127.0.0.1", port=port, username="crm", password="s3cret", starttls=False).send(MESSAGE)
    [(sender, recipients, raw)] = inbox.received
    assert sender == "billing@gpsleaders.example.com" and recipients == ["tanya@coolbreezeaz.example.com"]
    email = message_from_bytes(raw, policy=default_policy)
    assert email["Subject"] == MESSAGE.subject and email["Message-ID"].endswith("@gpsleaders.example.com>")
    assert email.get_body(("plain",)).get_content().strip() == MESSAGE.body_text
    assert "<a href='https://crm.example.com/pay/abc'>" in email.get_body(("html",)).get_content()


def test_a_wrong_password_is_refused_and_nothing_is_sent(smtp_server):
    import smtplib

    inbox, port, _ = smtp_server(tls=False)
    with pytest.raises(DeliveryFailed) as refused:
        SmtpBackend(host="127.0.0.1", port=port, username="crm", password="wrong", starttls=False).send(MESSAGE)
    assert isinstance(refused.value.__cause__, smtplib.SMTPAuthenticationError)
    assert refused.value.permanent and refused.value.reason.startswith("535 ")
    assert inbox.received == []


def test_starttls_checks_the_certificate(smtp_server):
    inbox, port, cert_file = smtp_server(tls=True)
    # a certificate nobody vouches for: refused before any credential or mail is sent
    with pytest.raises(DeliveryFailed) as refused:
        SmtpBackend(host="localhost", port=port, username="crm", password="s3cret").send(MESSAGE)
    assert isinstance(refused.value.__cause__, ssl.SSLCertVerificationError) and refused.value.permanent
    assert inbox.received == []
    # the relay's CA trusted through SMTP_CA_FILE: sent, encrypted
    backend = SmtpBackend.from_config({"SMTP_HOST": "localhost", "SMTP_PORT": str(port), "SMTP_USERNAME": "crm",
                                       "SMTP_PASSWORD": "s3cret", "SMTP_CA_FILE": str(cert_file)})
    backend.send(MESSAGE)
    assert len(inbox.received) == 1
