"""How many SMS parts a text takes: GSM-7 when every character is in the GSM 03.38 alphabet
(160 per message, 153 per part when split; the extension characters take two), otherwise
UCS-2 (70, 67 per part; a character outside the BMP takes two UTF-16 units)."""
from __future__ import annotations

from dataclasses import dataclass

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")
MAX_SEGMENTS = 10  # a longer text is refused by the composer


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets or UTF-16 code units
    segments: int
    per_segment: int  # what one part holds at this length
    remaining: int  # units left in the last part

    @property
    def too_long(self) -> bool:
        return self.segments > MAX_SEGMENTS


def count_segments(text: str) -> Segments:
    if all(c in GSM_BASIC or c in GSM_EXTENDED for c in text):
        encoding, single, multi = "GSM-7", 160, 153
        units = sum(2 if c in GSM_EXTENDED else 1 for c in text)
    else:
        encoding, single, multi = "UCS-2", 70, 67
        units = sum(2 if ord(c) > 0xFFFF else 1 for c in text)
    if units <= single:
        return Segments(encoding, units, 1 if units else 0, single, single - units)
    parts = -(-units // multi)
    return Segments(encoding, units, parts, multi, parts * multi - units)
