"""Stripe's REST API on this machine, as far as the checkout backend uses it.

Also POST /v1/refunds (a refund of a PaymentIntent registered in `payment_intents`, at most
what is left of it, answered with the documented Refund object).

The official SDK talks to it over HTTP (point `stripe.api_base` at `url`), so what is
tested is the request the SDK really sends: the form-encoded body with its bracketed keys,
the Authorization and Idempotency-Key headers. Answers have the documented object shapes
(the Checkout Session is the stored sample's, as Stripe returns it while still open), and a
repeated Idempotency-Key gets the first answer again, as Stripe does.
"""
from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SAMPLES = Path(__file__).resolve().parent / "samples" / "stripe"
_ids = itertools.count(1)


def _session_template() -> dict:
    event = json.loads((SAMPLES / "checkout.session.completed.json").read_text())
    return event["data"]["object"]


class FakeStripeAPI:
    def __init__(self) -> None:
        self.requests: list[dict] = []  # {"method", "path", "headers", "form"} per request
        self._answers: dict[str, tuple[int, dict]] = {}
        self._server = None
        self.url = ""
        self.failing: dict[str, int] = {}  # path -> how many of its next requests get a 500
        # PaymentIntents that exist (id -> {"amount", "currency", "latest_charge"}): what a
        # refund may take back; `refunded` counts what each has given back so far.
        self.payment_intents: dict[str, dict] = {}
        self.refunded: dict[str, int] = {}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeStripeAPI:
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def calls(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ, start_response):
        request = Request(environ)
        form = request.form.to_dict(flat=True)
        self.requests.append({"method": request.method, "path": request.path,
                              "headers": dict(request.headers), "form": form})
        key = request.headers.get("Idempotency-Key")
        if self.failing.get(request.path, 0) > 0:
            self.failing[request.path] -= 1
            status, body = 500, {"error": {"type": "api_error", "message": "An unknown error occurred"}}
            key = None  # Stripe does not save the result of a request that failed this way
        elif key and key in self._answers:
            status, body = self._answers[key]
        elif request.method == "POST" and request.path == "/v1/customers":
            status, body = 200, self._customer(form)
        elif request.method == "POST" and request.path == "/v1/checkout/sessions":
            status, body = 200, self._session(form)
        elif request.method == "POST" and request.path == "/v1/refunds":
            status, body = self._refund(form)
        else:
            status, body = 404, {"error": {"type": "invalid_request_error",
                                           "message": f"Unrecognized request URL ({request.method}: {request.path})."}}
        if key:
            self._answers.setdefault(key, (status, body))
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        response.headers["Request-Id"] = f"req_fake{next(_ids)}"
        return response(environ, start_response)

    # ------------------------------------------------------------------ objects
    @staticmethod
    def _metadata(form: dict, prefix: str = "metadata") -> dict:
        return {k[len(prefix) + 1:-1]: v for k, v in form.items() if k.startswith(f"{prefix}[")}

    def _customer(self, form: dict) -> dict:
        return {"id": f"cus_fake{next(_ids)}", "object": "customer", "address": None, "balance": 0,
                "created": int(time.time()), "currency": None, "default_source": None,
                "delinquent": False, "description": None, "email": form.get("email"),
                "invoice_prefix": "FAKE0001", "livemode": False, "metadata": self._metadata(form),
                "name": form.get("name"), "phone": None, "preferred_locales": [], "shipping": None,
                "tax_exempt": "none", "test_clock": None}

    def _session(self, form: dict) -> dict:
        session = copy.deepcopy(_session_template())
        number = next(_ids)
        amount = int(form["line_items[0][price_data][unit_amount]"]) * int(form.get("line_items[0][quantity]", 1))
        methods = [v for k, v in sorted(form.items()) if k.startswith("payment_method_types[")]
        session.update({
            "id": f"cs_test_fake{number}", "amount_subtotal": amount, "amount_total": amount,
            "cancel_url": form.get("cancel_url"), "client_reference_id": form.get("client_reference_id"),
            "collected_information": None, "created": int(time.time()), "customer": form.get("customer"),
            "customer_details": None, "expires_at": int(time.time()) + 86400,
            "metadata": self._metadata(form), "mode": form.get("mode"), "payment_intent": None,
            "payment_method_types": methods, "payment_status": "unpaid", "status": "open",
            "success_url": form.get("success_url"),
            "url": f"https://checkout.stripe.com/c/pay/cs_test_fake{number}",
        })
        return session

    def _refund(self, form: dict) -> tuple[int, dict]:
        """POST /v1/refunds: `payment_intent` (or `charge`), optional `amount` (default: all
        that is left), `metadata[...]`, `reason`. Refused as Stripe refuses: an unknown
        PaymentIntent (resource_missing), more than is left (amount_too_large), nothing left
        (charge_already_refunded)."""
        intent_id = form.get("payment_intent")
        intent = self.payment_intents.get(intent_id or "")
        if intent is None:
            return 400, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "param": "payment_intent",
                                   "message": f"No such payment_intent: '{intent_id}'"}}
        left = intent["amount"] - self.refunded.get(intent_id, 0)
        if left <= 0:
            return 400, {"error": {"type": "invalid_request_error", "code": "charge_already_refunded",
                                   "message": f"Charge {intent['latest_charge']} has already been refunded."}}
        amount = int(form.get("amount", left))
        if amount <= 0 or amount > left:
            return 400, {"error": {"type": "invalid_request_error", "code": "amount_too_large",
                                   "param": "amount",
                                   "message": f"Refund amount ({amount}) is greater than unrefunded "
                                              f"amount on charge ({left})"}}
        self.refunded[intent_id] = self.refunded.get(intent_id, 0) + amount
        number = next(_ids)
        return 200, {
            "id": f"re_fake{number}", "object": "refund", "amount": amount,
            "balance_transaction": f"txn_fake{number}", "charge": intent["latest_charge"],
            "created": int(time.time()), "currency": intent["currency"], "description": None,
            "destination_details": {"card": {"reference_status": "pending", "reference_type": "acquirer_reference_number", "type": "refund"}, "type": "card"},
            "metadata": self._metadata(form), "payment_intent": intent_id,
            "reason": form.get("reason"), "receipt_number": None, "source_transfer_reversal": None,
            "status": "succeeded", "transfer_reversal": None,
        }
