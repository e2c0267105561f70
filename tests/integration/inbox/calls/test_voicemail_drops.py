"""Voicemail drops in Settings: upload (mp3, wav, m4a; duration read from the file; size
limited), served only to signed-in users as audio/*, delete."""
from __future__ import annotations

import io
import struct
import wave
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.auth.models import UserRole
from app.inbox.calls.voicemail import MAX_BYTES
from app.inbox.models import VoicemailDrop
from tests.factories import csrf_token, login


def wav_bytes(seconds: float, rate: int = 8000) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as clip:
        clip.setnchannels(1)
        clip.setsampwidth(2)
        clip.setframerate(rate)
        clip.writeframes(b"\x00\x00" * int(seconds * rate))
    return out.getvalue()


def mp3_bytes(frames: int) -> bytes:
    """MPEG-1 Layer III frames, 128 kbit/s, 44.1 kHz (417 bytes, 1152 samples each)."""
    return (b"\xff\xfb\x90\x00" + b"\x00" * 413) * frames


def m4a_bytes(seconds: int) -> bytes:
    def box(kind, payload):
        return struct.pack(">I4s", 8 + len(payload), kind) + payload

    def full(kind, payload):
        return box(kind, b"\x00\x00\x00\x00" + payload)

    mdhd = full(b"mdhd", struct.pack(">IIIIHH", 0, 0, 44100, 44100 * seconds, 0, 0))
    hdlr = full(b"hdlr", struct.pack(">I4s", 0, b"soun") + b"\x00" * 13)
    trak = box(b"trak", box(b"mdia", mdhd + hdlr + box(b"minf", box(b"stbl", full(b"stsd", b"\x00" * 4)))))
    moov = box(b"moov", full(b"mvhd", struct.pack(">IIII", 0, 0, 1000, seconds * 1000) + b"\x00" * 80) + trak)
    return box(b"ftyp", b"M4A \x00\x00\x00\x00M4A mp42isom") + moov


@pytest.fixture
def audio_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "VOICEMAIL_DIR", str(tmp_path / "voicemail"))
    return tmp_path / "voicemail"


@pytest.fixture
def admin_client(app, client, factory):
    login(client, factory.user(UserRole.ADMIN))
    return client


def upload(client, app, name: str, filename: str, content: bytes, **extra):
    data = {"csrf_token": csrf_token(client, app), "name": name, "audio": (io.BytesIO(content), filename)}
    data.update(extra)
    return client.post("/settings/voicemail-drops", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize(("filename", "content", "seconds", "content_type"), [
    ("hello.wav", wav_bytes(3.2), 3, "audio/wav"),
    ("hello.MP3", mp3_bytes(383), 10, "audio/mpeg"),
    ("hello.m4a", m4a_bytes(12), 12, "audio/mp4"),
])
def test_upload_reads_the_duration_from_the_file(app, admin_client, db_session, audio_dir, filename, content,
                                                 seconds, content_type):
    response = upload(admin_client, app, "Friendly follow-up", filename, content, is_default="y")

    assert response.status_code == 303
    drop = db_session.scalar(select(VoicemailDrop).where(VoicemailDrop.name == "Friendly follow-up"))
    assert drop.duration_seconds == seconds and drop.is_default
    assert drop.audio_url == f"/settings/voicemail-drops/{drop.id}/audio"
    stored = audio_dir / drop.file_name
    assert stored.read_bytes() == content and not list(audio_dir.glob(".*.part"))
    served = admin_client.get(drop.audio_url)
    assert served.status_code == 200 and served.headers["Content-Type"].startswith(content_type)
    assert served.data == content
    page = admin_client.get("/settings/voicemail-drops")
    assert "Friendly follow-up" in page.text and f'src="{drop.audio_url}"' in page.text


@pytest.mark.parametrize(("filename", "content", "message"), [
    ("junk.mp3", b"not audio at all" * 100, "not a readable mp3"),
    ("junk.wav", b"RIFF????WAVEjunk", "not a readable wav"),
    ("junk.m4a", b"\x00\x00\x00\x08free", "not a readable m4a"),
    ("voice.ogg", b"OggS" + b"\x00" * 100, "mp3, wav or m4a"),
    ("silence.wav", wav_bytes(0), "no audio"),
    ("empty.mp3", b"", "empty"),
])
def test_what_is_not_usable_audio_is_refused_and_nothing_stored(app, admin_client, db_session, audio_dir,
                                                                 filename, content, message):
    response = upload(admin_client, app, "Bad", filename, content)
    assert response.status_code == 422 and message in response.text
    assert db_session.scalar(select(func.count()).select_from(VoicemailDrop)) == 0
    assert not audio_dir.exists() or list(audio_dir.iterdir()) == []


def test_a_file_over_the_limit_is_refused_before_it_is_read(app, admin_client, db_session, audio_dir):
    response = upload(admin_client, app, "Huge", "huge.wav", b"\x00" * (MAX_BYTES + 128 * 1024))
    assert response.status_code == 413
    assert db_session.scalar(select(func.count()).select_from(VoicemailDrop)) == 0


def test_audio_is_served_to_signed_in_users_only(app, admin_client, factory, db_session, audio_dir):
    upload(admin_client, app, "Private", "private.wav", wav_bytes(1.5))
    drop = db_session.scalar(select(VoicemailDrop).where(VoicemailDrop.name == "Private"))

    stranger = app.test_client()
    response = stranger.get(drop.audio_url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not Path(app.static_folder, drop.file_name).exists()  # not a static file either

    for role in (UserRole.REP, UserRole.OPERATOR):
        signed_in = app.test_client()
        login(signed_in, factory.user(role))
        served = signed_in.get(drop.audio_url)
        assert served.status_code == 200 and served.headers["Content-Type"] == "audio/wav"
        assert served.headers["Cache-Control"] == "no-store"


def test_delete_removes_the_row_and_the_file(app, admin_client, db_session, audio_dir):
    upload(admin_client, app, "Old", "old.wav", wav_bytes(1))
    drop = db_session.scalar(select(VoicemailDrop).where(VoicemailDrop.name == "Old"))
    stored = audio_dir / drop.file_name
    assert stored.exists()

    response = admin_client.post(f"/settings/voicemail-drops/{drop.id}/delete",
                                 data={"csrf_token": csrf_token(admin_client, app)})

    assert response.status_code == 303
    assert db_session.scalar(select(func.count()).select_from(VoicemailDrop)) == 0
    assert not stored.exists()
    assert admin_client.get(f"/settings/voicemail-drops/{drop.id}/audio").status_code == 404


def test_one_default_drop(app, admin_client, db_session, audio_dir):
    upload(admin_client, app, "First", "a.wav", wav_bytes(1), is_default="y")
    upload(admin_client, app, "Second", "b.wav", wav_bytes(1), is_default="y")
    defaults = db_session.scalars(select(VoicemailDrop.name).where(VoicemailDrop.is_default)).all()
    assert defaults == ["Second"]
