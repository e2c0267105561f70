"""What every webhook answers when it refuses a delivery: one log line and a 400 with the
reason (a provider retries a 5xx; a refused delivery is not worth retrying), and the answer
when its secret is not configured (stored nothing, said loudly in the log)."""
from __future__ import annotations

import logging

from flask import jsonify

log = logging.getLogger("crm.webhooks")


def refuse(provider: str, reason: str):
    log.info("webhook refused provider=%s reason=%s", provider, reason)
    return jsonify({"error": reason}), 400


def not_configured(provider: str, exc: Exception):
    log.error("webhook refused provider=%s reason=no secret configured (%s)", provider, exc)
    return jsonify({"error": "not configured"}), 400
