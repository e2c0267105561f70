"""QuickBooks Online and Intuit's OAuth server on this machine, as far as app.quickbooks uses them.

intuit-oauth and python-quickbooks talk to it over HTTP (QBO_BASE_URL): the discovery
document, the token endpoint (authorization_code, refresh_token: a refresh token works once,
then `invalid_grant`, as Intuit's rotation does), revoke, and the accounting API
(/v3/company/<realm>/...): create / sparse update / void / read / query / cdc with the
documented shapes (tests/samples/quickbooks/). It enforces what the sync must respect:

- `requestid`: a repeated one answers the original response (no second object);
- SyncToken: an update with a stale one answers fault 5010 (the stored sample);
- limits: more than 10 requests in a second or 500 in a minute per realm answer 429 with the
  stored throttle body; `throttle_next` forces 429s;
- batch (/batch): at most 30 BatchItemRequests (create / update / Query), each answered by a
  BatchItemResponse with its bId (the object, or a Fault); more than 40 batches a minute per
  realm answer 429; a repeated requestid answers the original batch;
- `refuse`: a create or update whose body contains one of its keys answers that Fault
  (a validation or closed-period refusal, single or inside a batch).
"""
from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from dateutil.parser import isoparse
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "quickbooks"
REALM = "9341455123456789"
CLIENT_ID, CLIENT_SECRET = "qbo-test-client", "qbo-test-secret"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class FakeQuickBooks:
    def __init__(self, *, per_second: int = 10, per_minute: int = 500) -> None:
        self.url = ""
        self._server = None
        self.lock = threading.RLock()
        self.ids = itertools.count(1000)
        self.tokens = itertools.count(1)
        self.requests: list[dict] = []
        self.per_second, self.per_minute = per_second, per_minute
        self.recent: deque[float] = deque()
        self.batches_per_minute, self.batch_items = 40, 30
        self.recent_batches: deque[float] = deque()
        self.refuse: dict[str, dict] = {}  # text in a body -> the Fault it answers
        self.hang_after_batch = threading.Event()  # set: hold the next batch's answer (after applying it)
        self.lose_batch_answer = 0  # the next N batches are applied, then answered 503 (the answer lost)
        self.throttle_next = 0  # the next N API requests answer 429
        self.throttled = 0  # 429s answered
        self.stale_next: dict[str, int] = {}  # "Invoice:1000" -> its next N updates answer 5010
        self.auth_codes: dict[str, str] = {}  # code -> realm
        self.refresh_tokens: set[str] = set()  # valid (unused) refresh tokens
        self.access_tokens: set[str] = set()
        self.refresh_calls = 0
        self.refresh_delay = 0.0
        self.revoked: list[str] = []
        self.answers: dict[str, tuple[int, dict]] = {}  # requestid -> the first answer
        self.objects: dict[str, dict[str, dict]] = {"Customer": {}, "Invoice": {}, "Payment": {},
                                                     "RefundReceipt": {}, "Item": {}}
        self.deleted_items: dict[str, str] = {}  # id -> when
        self.recorded: dict[str, dict] = {}  # endpoint ("customer", "cdc", ...) -> the stored sample to answer next
        self.search_lag = False  # True: queries do not show customers and invoices yet (Intuit's index lags)
        self.hang_after_create = threading.Event()  # set: hold the next create's answer (after storing it)
        self.create_waiting = threading.Event()
        self.release_create = threading.Event()
        for item in sample("item-query-response.json")["QueryResponse"]["Item"]:
            self.objects["Item"][item["Id"]] = item
        # A company's chart of accounts, as far as refunds need it (a RefundReceipt is paid from a
        # Bank or Other Current Asset account: DepositToAccountRef is required).
        self.objects["Account"] = {
            "79": {"Id": "79", "Name": "Sales of Product Income", "AccountType": "Income", "Active": True,
                   "Classification": "Revenue", "SyncToken": "0"},
            "35": {"Id": "35", "Name": "Checking", "AccountType": "Bank", "AccountSubType": "Checking",
                   "Active": True, "Classification": "Asset", "CurrentBalance": 1201.0, "SyncToken": "0"}}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeQuickBooks:
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        return self

    def stop(self) -> None:
        self.release_create.set()
        if self._server is not None:
            self._server.shutdown()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ helpers for tests
    def grant(self, realm: str = REALM) -> str:
        code = f"code-{next(self.tokens)}"
        self.auth_codes[code] = realm
        return code

    def api_requests(self, method: str | None = None, path_end: str | None = None) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith("/v3/")
                and (method is None or r["method"] == method)
                and (path_end is None or r["path"].endswith(path_end))]

    def change_item(self, item_id: str, **fields) -> None:
        with self.lock:
            item = self.objects["Item"][item_id]
            item.update(fields)
            item["SyncToken"] = str(int(item["SyncToken"]) + 1)
            item["MetaData"] = {**item["MetaData"], "LastUpdatedTime": _now()}

    def delete_item(self, item_id: str) -> None:
        with self.lock:
            self.objects["Item"].pop(item_id)
            self.deleted_items[item_id] = _now()

    def add_customer(self, name: str, email: str | None = None) -> dict:
        body = {"DisplayName": name}
        if email:
            body["PrimaryEmailAddr"] = {"Address": email}
        return self._create("Customer", body)

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ, start_response):
        request = Request(environ)
        body = request.get_data(as_text=True)
        with self.lock:
            self.requests.append({"method": request.method, "path": request.path, "args": request.args.to_dict(),
                                  "body": body, "at": time.monotonic()})
        status, payload, headers = self._route(request, body)
        return Response(json.dumps(payload), status=status, headers=headers,
                        content_type="application/json")(environ, start_response)

    def _route(self, request: Request, body: str):
        path = request.path
        if path == "/.well-known/openid_configuration":
            return 200, {"issuer": self.url, "authorization_endpoint": f"{self.url}/authorize",
                         "token_endpoint": f"{self.url}/oauth2/v1/tokens/bearer",
                         "revocation_endpoint": f"{self.url}/oauth2/v1/tokens/revoke",
                         "userinfo_endpoint": f"{self.url}/userinfo", "jwks_uri": f"{self.url}/jwks"}, {}
        if path == "/authorize":  # an admin who says yes at once: back to the app with a code
            target = request.args["redirect_uri"] + "?" + urlencode(
                {"code": self.grant(), "state": request.args.get("state", ""), "realmId": REALM})
            return 302, {}, {"Location": target}
        if path == "/oauth2/v1/tokens/bearer":
            return self._token(request)
        if path == "/oauth2/v1/tokens/revoke":
            token = json.loads(body or "{}").get("token")
            with self.lock:
                self.revoked.append(token)
                self.refresh_tokens.discard(token)
            return 200, {}, {}
        match = re.fullmatch(r"/v3/company/([^/]+)/(\w+)(?:/([^/]+))?", path)
        if not match:
            return 404, {"error": "not found"}, {}
        return self._api(request, body, match.group(1), match.group(2), match.group(3))

    def _token(self, request: Request):
        form = request.form
        if form.get("grant_type") == "authorization_code":
            with self.lock:
                realm = self.auth_codes.pop(form.get("code"), None)
            if realm is None:
                return 400, {"error": "invalid_grant"}, {}
            return 200, self._issue(), {}
        if form.get("grant_type") == "refresh_token":
            time.sleep(self.refresh_delay)
            with self.lock:
                self.refresh_calls += 1
                token = form.get("refresh_token")
                if token not in self.refresh_tokens:
                    return 400, {"error": "invalid_grant"}, {}
                self.refresh_tokens.discard(token)  # rotated: the old one is burnt
                return 200, self._issue(), {}
        return 400, {"error": "unsupported_grant_type"}, {}

    def _issue(self) -> dict:
        answer = sample("oauth-token-refresh-response.json")
        n = next(self.tokens)
        answer["access_token"], answer["refresh_token"] = f"access-{n}", f"refresh-{n}"
        with self.lock:
            self.access_tokens.add(answer["access_token"])
            self.refresh_tokens.add(answer["refresh_token"])
        return answer

    # ------------------------------------------------------------------ the accounting API
    def _limited(self, batch: bool = False) -> bool:
        now = time.monotonic()
        with self.lock:
            if batch:
                while self.recent_batches and self.recent_batches[0] < now - 60:
                    self.recent_batches.popleft()
                if len(self.recent_batches) >= self.batches_per_minute:
                    self.throttled += 1
                    return True
            if self.throttle_next > 0:
                self.throttle_next -= 1
                self.throttled += 1
                return True
            while self.recent and self.recent[0] < now - 60:
                self.recent.popleft()
            last_second = sum(1 for t in self.recent if t >= now - 1)
            if last_second >= self.per_second or len(self.recent) >= self.per_minute:
                self.throttled += 1
                return True
            self.recent.append(now)
            if batch:
                self.recent_batches.append(now)
            return False

    def _api(self, request, body, realm, endpoint, object_id):
        token = (request.headers.get("Authorization") or "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return 401, {"Fault": {"Error": [{"Message": "message=AuthenticationFailed", "code": "3200"}],
                                   "type": "AUTHENTICATION"}}, {}
        if self._limited(batch=endpoint == "batch"):
            return 429, sample("throttle-429.json"), {}
        if endpoint == "batch":
            return self._batch(request, body)
        if endpoint in self.recorded:  # the documented answer, as recorded (tests/samples/quickbooks)
            answer = self.recorded.pop(endpoint)
            for key, objects in answer.items():
                if key in self.objects:
                    self.objects[key][objects["Id"]] = copy.deepcopy(objects)
            return 200, answer, {}
        if endpoint == "query":
            return 200, self._query(body), {}
        if endpoint == "cdc":
            return 200, self._cdc(request.args), {}
        entity = {"customer": "Customer", "invoice": "Invoice", "payment": "Payment",
                  "refundreceipt": "RefundReceipt", "item": "Item"}.get(endpoint)
        if entity is None:
            return 400, {"Fault": {"Error": [{"Message": "Unsupported", "code": "500"}]}}, {}
        if request.method == "GET":
            found = self.objects[entity].get(object_id)
            if found is None:
                return 400, {"Fault": {"Error": [{"Message": "Object Not Found", "code": "610"}],
                                       "type": "ValidationFault"}}, {}
            return 200, {entity: copy.deepcopy(found), "time": _now()}, {}
        request_id = request.args.get("requestid")
        with self.lock:
            if request_id and request_id in self.answers:
                status, answer = self.answers[request_id]
                return status, copy.deepcopy(answer), {}
            data = json.loads(body)
            if data.get("Id"):
                status, answer = self._update(entity, data, request.args.get("operation"))
            else:
                status, answer = self._create_checked(entity, data)
            if request_id:
                self.answers[request_id] = (status, copy.deepcopy(answer))
        if status == 200 and not data.get("Id") and self.hang_after_create.is_set():
            self.hang_after_create.clear()
            self.create_waiting.set()
            self.release_create.wait(300)  # the worker is killed while it waits for this answer
        return status, answer, {}

    def _refused(self, data) -> dict | None:
        text = json.dumps(data)
        for needle, fault in self.refuse.items():
            if needle in text:
                return {"Fault": copy.deepcopy(fault), "time": _now()}
        return None

    def _batch(self, request, body):
        """POST /batch: BatchItemRequest -> BatchItemResponse, item by item, in order."""
        request_id = request.args.get("requestid")
        with self.lock:
            if request_id and request_id in self.answers:
                status, answer = self.answers[request_id]
                return status, copy.deepcopy(answer), {}
            items = json.loads(body).get("BatchItemRequest", [])
            if len(items) > self.batch_items or (request_id and len(request_id) > 36):
                return 400, {"Fault": {"Error": [{"Message": "Request has invalid or unsupported property",
                                                  "Detail": f"at most {self.batch_items} BatchItemRequests and a "
                                                            "requestid of at most 36 characters", "code": "2010"}],
                                       "type": "ValidationFault"}, "time": _now()}, {}
            responses = []
            for item in items:
                answer = {"bId": item.get("bId")}
                if "Query" in item:
                    answer["QueryResponse"] = self._query(item["Query"])["QueryResponse"]
                    responses.append(answer)
                    continue
                entity = next(k for k in item if k not in ("bId", "operation", "optionsData"))
                data = item[entity]
                if item.get("operation") == "update":
                    status, result = self._update(entity, data, None)
                else:
                    status, result = self._create_checked(entity, data)
                answer.update({"Fault": result["Fault"]} if "Fault" in result else {entity: result[entity]})
                responses.append(answer)
            status, answer = 200, {"BatchItemResponse": responses, "time": _now()}
            if request_id:
                self.answers[request_id] = (status, copy.deepcopy(answer))
        if self.lose_batch_answer > 0:
            self.lose_batch_answer -= 1
            return 503, "Service Unavailable", {}
        if self.hang_after_batch.is_set():
            self.hang_after_batch.clear()
            self.create_waiting.set()
            self.release_create.wait(300)  # the worker is killed while it waits for this answer
        return status, answer, {}

    def _create_checked(self, entity, data):
        refused = self._refused(data)
        if refused is not None:
            return 400, refused
        if entity == "RefundReceipt":  # as Intuit: the account the money leaves from is required
            account = (data.get("DepositToAccountRef") or {}).get("value")
            if not account:
                return 400, {"Fault": {"Error": [{
                    "Message": "Required param missing, need to supply the required value for the API",
                    "Detail": "Required parameter DepositToAccountRef is missing in the request", "code": "2020",
                    "element": "DepositToAccountRef"}], "type": "ValidationFault"}, "time": _now()}
            if account not in self.objects["Account"]:
                return 400, {"Fault": {"Error": [{"Message": "Invalid Reference Id",
                                                  "Detail": f"Invalid Reference Id : Accounts element id {account} "
                                                            "not found", "code": "2500"}],
                                       "type": "ValidationFault"}, "time": _now()}
        if entity == "Customer" and any(c["DisplayName"] == data.get("DisplayName")
                                        for c in self.objects["Customer"].values()):
            return 400, {"Fault": {"Error": [{"Message": "Duplicate Name Exists Error", "code": "6240",
                                              "Detail": "The name supplied already exists."}],
                                   "type": "ValidationFault"}, "time": _now()}
        return 200, {entity: self._create(entity, data), "time": _now()}

    def _create(self, entity, data) -> dict:
        obj = {**data, "Id": str(next(self.ids)), "SyncToken": "0", "domain": "QBO", "sparse": False,
               "MetaData": {"CreateTime": _now(), "LastUpdatedTime": _now()}}
        if entity in ("Invoice", "Payment", "RefundReceipt"):
            obj["TotalAmt"] = data.get("TotalAmt", self._total(data))
        if entity == "Invoice":
            obj["Balance"] = obj["TotalAmt"]
        if entity == "Payment":  # applied to its invoices
            for line in data.get("Line", []):
                for linked in line.get("LinkedTxn", []):
                    invoice = self.objects["Invoice"].get(linked["TxnId"])
                    if invoice is not None:
                        invoice["Balance"] = round(invoice["Balance"] - line["Amount"], 2)
                        invoice["MetaData"]["LastUpdatedTime"] = _now()
        self.objects[entity][obj["Id"]] = obj
        return copy.deepcopy(obj)

    @staticmethod
    def _total(data) -> float:
        lines = sum(line.get("Amount", 0) for line in data.get("Line", []))
        return round(lines + (data.get("TxnTaxDetail") or {}).get("TotalTax", 0), 2)

    def edit_in_quickbooks(self, entity: str, object_id: str, **fields) -> None:
        """A person changes an object in QuickBooks (its SyncToken and LastUpdatedTime move)."""
        with self.lock:
            current = self.objects[entity][object_id]
            current.update(fields)
            current["SyncToken"] = str(int(current["SyncToken"]) + 1)
            current["MetaData"]["LastUpdatedTime"] = _now()

    def _update(self, entity, data, operation):
        current = self.objects[entity].get(data["Id"])
        if current is None:
            return 400, {"Fault": {"Error": [{"Message": "Object Not Found", "code": "610"}]}}
        refused = self._refused(data)
        if refused is not None:
            return 400, refused
        key = f"{entity}:{data['Id']}"
        if self.stale_next.get(key, 0) > 0 or data.get("SyncToken") != current["SyncToken"]:
            if self.stale_next.get(key, 0) > 0:
                self.stale_next[key] -= 1
                current["SyncToken"] = str(int(current["SyncToken"]) + 1)  # someone else saved it
            return 400, sample("fault-stale-object-5010.json")
        fields = {k: v for k, v in data.items() if k not in ("Id", "SyncToken", "sparse")}
        current.update(fields)
        if operation == "void":
            current["PrivateNote"] = "Voided"
            current["TotalAmt"] = current["Balance"] = 0
            current["Voided"] = True
        elif "Line" in fields:
            paid = current["TotalAmt"] - current.get("Balance", current["TotalAmt"])
            current["TotalAmt"] = self._total({**current, **fields})
            current["Balance"] = round(current["TotalAmt"] - paid, 2)
        current["SyncToken"] = str(int(current["SyncToken"]) + 1)
        current["MetaData"]["LastUpdatedTime"] = _now()
        return 200, {entity: copy.deepcopy(current), "time": _now()}

    def _query(self, statement: str) -> dict:
        match = re.match(r"select \* from (\w+)(?: where (.*?))?(?: STARTPOSITION (\d+))?(?: MAXRESULTS (\d+))?$",
                         statement.strip(), re.I)
        entity, where, start, most = match.groups()
        found = [] if self.search_lag and entity in ("Customer", "Invoice") else list(self.objects[entity].values())
        if where and "Active IN" not in where:
            field, operator, rest = re.fullmatch(r"(\w+) (=|IN) (.*)", where).groups()
            values = {v.replace("\\'", "'").replace("\\\\", "\\")
                      for v in re.findall(r"'((?:[^'\\]|\\.)*)'", rest)}
            if field == "PrimaryEmailAddr":
                found = [o for o in found if (o.get("PrimaryEmailAddr") or {}).get("Address") in values]
            else:
                found = [o for o in found if o.get(field) in values]
        start, most = int(start or 1), int(most or 100)
        page = found[start - 1:start - 1 + most]
        response = {"startPosition": start, "maxResults": len(page)}
        if page:
            response[entity] = copy.deepcopy(page)
        return {"QueryResponse": response, "time": _now()}

    def _cdc(self, args) -> dict:
        since = isoparse(args["changedSince"])
        items = [copy.deepcopy(i) for i in self.objects["Item"].values()
                 if isoparse(i["MetaData"]["LastUpdatedTime"]) >= since]
        items += [{"Id": item_id, "status": "Deleted", "MetaData": {"LastUpdatedTime": when}}
                  for item_id, when in self.deleted_items.items() if isoparse(when) >= since]
        responses = [{"Item": items, "startPosition": 1, "maxResults": len(items)}]
        if "Invoice" in args["entities"].split(","):
            invoices = [copy.deepcopy(i) for i in self.objects["Invoice"].values()
                        if isoparse(i["MetaData"]["LastUpdatedTime"]) >= since]
            responses.append({"Invoice": invoices, "startPosition": 1, "maxResults": len(invoices)})
        if "Payment" in args["entities"].split(","):
            payments = [copy.deepcopy(p) for p in self.objects["Payment"].values()
                        if isoparse(p["MetaData"]["LastUpdatedTime"]) >= since]
            responses.append({"Payment": payments, "startPosition": 1, "maxResults": len(payments)})
        return {"CDCResponse": [{"QueryResponse": responses}], "time": _now()}

    def record_payment_in_quickbooks(self, invoice_id: str, amount: float, reference: str = "") -> dict:
        """A bookkeeper records a payment on an invoice in QuickBooks itself."""
        invoice = self.objects["Invoice"][invoice_id]
        with self.lock:
            return self._create("Payment", {
                "TotalAmt": amount, "CustomerRef": invoice["CustomerRef"], "TxnDate": _now()[:10],
                "PaymentRefNum": reference, "Line": [{"Amount": amount,
                                                      "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}]})
