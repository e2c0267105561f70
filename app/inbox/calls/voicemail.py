"""Voicemail drops: uploaded audio files (mp3, wav, m4a) kept in VOICEMAIL_DIR, their
duration read from the file itself (WAV headers with the stdlib `wave`, mp3 and m4a with
mutagen). A file that is not what its name says is refused, nothing stored."""
from __future__ import annotations

import os
import uuid
import wave
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import update

from app.activity.services import record
from app.extensions import db
from app.inbox.models import VoicemailDrop

MAX_BYTES = 10 * 1024 * 1024
CONTENT_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4"}


class AudioRefused(ValueError):
    """Not an audio file we can use; the message says why."""


def storage_dir() -> Path:
    configured = current_app.config.get("VOICEMAIL_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "voicemail"
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_type(drop: VoicemailDrop) -> str:
    return CONTENT_TYPES.get(Path(drop.file_name or "").suffix.lower(), "application/octet-stream")


def file_path(drop: VoicemailDrop) -> Path | None:
    if not drop.file_name:
        return None
    path = storage_dir() / Path(drop.file_name).name
    return path if path.is_file() else None


def audio_duration(path: Path, suffix: str) -> float:
    """Seconds of audio in the file, or AudioRefused."""
    try:
        if suffix == ".wav":
            with wave.open(str(path), "rb") as clip:
                rate = clip.getframerate()
                return clip.getnframes() / rate if rate else 0.0
        from mutagen import MutagenError

        try:
            if suffix == ".mp3":
                from mutagen.mp3 import MP3

                return float(MP3(str(path)).info.length)
            from mutagen.mp4 import MP4

            return float(MP4(str(path)).info.length)
        except MutagenError as exc:
            raise AudioRefused(f"This is not a readable {suffix[1:]} file.") from exc
    except (wave.Error, EOFError) as exc:
        raise AudioRefused("This is not a readable wav file.") from exc


def create_drop(name: str, stream: BinaryIO, filename: str, *, is_default: bool, actor,
                audio_url_for: Callable[[uuid.UUID], str]) -> VoicemailDrop:
    suffix = Path(filename or "").suffix.lower()
    if suffix not in CONTENT_TYPES:
        raise AudioRefused("Upload an mp3, wav or m4a file.")
    drop_id = uuid.uuid4()
    folder = storage_dir()
    final = folder / f"{drop_id}{suffix}"
    partial = folder / f".{drop_id}{suffix}.part"
    size = 0
    try:
        with open(partial, "wb") as out:
            while chunk := stream.read(64 * 1024):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise AudioRefused(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
                out.write(chunk)
        if size == 0:
            raise AudioRefused("The file is empty.")
        seconds = audio_duration(partial, suffix)
        if not seconds or seconds <= 0:
            raise AudioRefused("The recording has no audio.")
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    if is_default:
        db.session.execute(update(VoicemailDrop).values(is_default=False))
    drop = VoicemailDrop(id=drop_id, name=name.strip()[:200], audio_url=audio_url_for(drop_id),
                         duration_seconds=max(1, round(seconds)), is_default=is_default, file_name=final.name)
    db.session.add(drop)
    record("settings.voicemail_drop_added", f"Voicemail drop added: {drop.name}", actor=actor,
           detail={"voicemail_drop_id": drop_id, "duration_seconds": drop.duration_seconds})
    db.session.flush()
    return drop


def delete_drop(drop: VoicemailDrop, *, actor) -> str | None:
    """Delete the row; returns the file name for `remove_file` once the caller committed."""
    file_name = drop.file_name
    record("settings.voicemail_drop_deleted", f"Voicemail drop deleted: {drop.name}", actor=actor,
           detail={"voicemail_drop_id": drop.id})
    db.session.delete(drop)
    db.session.flush()
    return file_name


def remove_file(file_name: str | None) -> None:
    if file_name:
        (storage_dir() / Path(file_name).name).unlink(missing_ok=True)
