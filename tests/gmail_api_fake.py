"""Google's OAuth endpoints and the Gmail API on this machine, as far as the e-mail channel
uses them, answering with the documented shapes (tests/samples/gmail/).

The official clients talk to it over HTTP: google-auth-oauthlib's Flow (the consent page
here consents at once for `consent_as` and redirects back with a code; the token endpoint
checks the PKCE verifier), google-auth's refresh (`invalid_grant` for a revoked refresh
token), and google-api-python-client's Gmail service (GMAIL_API_BASE = `url`):
users.getProfile, users.history.list (404 below `oldest_history_id`), users.messages.list
(`q` with `rfc822msgid:` and `newer_than:Nd`, `labelIds`), users.messages.get (format=full;
`failing_gets` answer 500), alone or inside a batch request (/batch/gmail/v1, multipart/mixed), users.messages.send (the raw RFC 822 message parsed and kept;
`hang_before` / `hang_after` hold the first send of a Message-ID open so a worker can be
killed there). Every request needs a current access token (401 otherwise).

Several mailboxes live side by side (keyed by address): each has its own Gmail ids, thread
ids and history, as Gmail's are per mailbox."""
from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import secrets
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

SAMPLES = Path(__file__).resolve().parent / "samples" / "gmail"


def sample(name: str) -> dict:
    return json.loads((SAMPLES / name).read_text())


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


class Mailbox:
    def __init__(self, address: str, ids) -> None:
        self.address = address
        self._ids = ids
        self.messages: dict[str, dict] = {}  # Gmail id -> the format=full resource
        self.history: list[dict] = []  # history records, oldest first
        self.history_id = 2291000
        self.oldest_history_id = 0  # a startHistoryId below it answers 404
        self.sent: list[dict] = []  # what messages.send received: {"raw", "threadId", "headers", "id"}

    def _next_history(self) -> str:
        self.history_id += 1
        return str(self.history_id)

    def add(self, *, from_: str, to: str, subject: str, body: str, message_id: str | None,
            in_reply_to: str | None = None, references: str | None = None, labels=("UNREAD", "INBOX"),
            thread_id: str | None = None, internal_ms: int | None = None) -> dict:
        """A message arrives in (or is sent from) this mailbox: the sample's shape, new ids."""
        gmail_id = next(self._ids)
        if thread_id is None and in_reply_to:
            parent = next((m for m in self.messages.values()
                           if _header(m, "Message-ID") == in_reply_to), None)
            thread_id = parent["threadId"] if parent else None
        full = copy.deepcopy(sample("message-get-full-reply.json"))
        full["id"], full["threadId"] = gmail_id, thread_id or gmail_id
        full["labelIds"] = list(labels)
        full["snippet"] = body[:200]
        full["internalDate"] = str(internal_ms or int(time.time() * 1000))
        wanted = {"From": from_, "To": to, "Subject": subject, "Message-ID": message_id,
                  "In-Reply-To": in_reply_to, "References": references}
        headers = [h for h in full["payload"]["headers"] if h["name"] not in wanted and h["name"] != "Cc"]
        headers += [{"name": k, "value": v} for k, v in wanted.items() if v]
        full["payload"]["headers"] = headers
        full["payload"]["parts"][0]["body"] = {"size": len(body), "data": _b64(body)}
        full["payload"]["parts"][1]["body"] = {"size": len(body) + 11, "data": _b64(f"<div>{body}</div>")}
        history_id = self._next_history()
        full["historyId"] = history_id
        self.messages[gmail_id] = full
        ref = {"id": gmail_id, "threadId": full["threadId"]}
        self.history.append({"id": history_id, "messages": [ref],
                             "messagesAdded": [{"message": {**ref, "labelIds": list(labels)}}]})
        return full

    def label_change(self, gmail_id: str) -> None:
        """A history record that adds no message (someone read it: UNREAD removed)."""
        message = self.messages[gmail_id]
        ref = {"id": gmail_id, "threadId": message["threadId"]}
        self.history.append({"id": self._next_history(), "messages": [ref], "labelsRemoved": [
            {"message": {**ref, "labelIds": [x for x in message["labelIds"] if x != "UNREAD"]},
             "labelIds": ["UNREAD"]}]})


def _header(message: dict, name: str) -> str | None:
    for header in message["payload"]["headers"]:
        if header["name"].lower() == name.lower():
            return header["value"]
    return None


def _error(status: int, message: str, reason: str) -> Response:
    body = {"error": {"code": status, "message": message, "errors": [
        {"message": message, "domain": "global", "reason": reason}], "status": reason.upper()}}
    return Response(json.dumps(body), status=status, content_type="application/json; charset=UTF-8")


def _json(body: dict, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json; charset=UTF-8")


class FakeGmail:
    def __init__(self) -> None:
        counter = itertools.count(0x19a6f1e07ab40000)
        self._ids = (f"{n:x}" for n in counter)
        self.mailboxes: dict[str, Mailbox] = {}
        self.consent_as = ""  # the consent page signs in as this address
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (address, code_challenge)
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> address
        self.revoked: set[str] = set()  # refresh tokens answered invalid_grant
        self.access_tokens: dict[str, str] = {}  # access token -> address
        self.token_requests: list[dict] = []
        self.granted_scope = ("https://www.googleapis.com/auth/gmail.send "
                              "https://www.googleapis.com/auth/gmail.readonly")  # what a consent grants
        self.requests: list[tuple[str, str]] = []  # (method, path?query) of API calls (batched ones too)
        self.batches = 0  # batch requests received
        self.watches: dict[str, dict] = {}  # address -> the last users.watch body accepted (+ its expiration)
        self.unauthorized_topics: set[str] = set()  # topics Gmail may not publish to (403, as Google says)
        self.failing_gets: dict[str, int] = {}  # Gmail id -> how many gets answer 500 (-1: all)
        self.hang_before: set[str] = set()  # Message-IDs whose first send hangs, never accepted
        self.hang_after: set[str] = set()  # ... accepted, the answer held back
        self.waiting = threading.Event()
        self._release = threading.Event()
        self.lock = threading.Lock()
        self._server = None
        self.url = ""

    # --- set-up helpers -------------------------------------------------------------------

    def mailbox(self, address: str) -> Mailbox:
        return self.mailboxes.setdefault(address, Mailbox(address, self._ids))

    def grant(self, address: str) -> tuple[str, str]:
        """A refresh and an access token for the mailbox (as a finished consent gives)."""
        self.mailbox(address)
        refresh, access = f"1//{secrets.token_urlsafe(24)}", f"ya29.{secrets.token_urlsafe(24)}"
        self.refresh_tokens[refresh], self.access_tokens[access] = address, address
        return refresh, access

    def release(self) -> None:
        self._release.set()

    # --- the server -----------------------------------------------------------------------

    def __enter__(self) -> FakeGmail:
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._server.shutdown()

    def _app(self, environ, start_response):
        request = Request(environ)
        return self._route(request)(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == "/o/oauth2/auth":
            return self._consent(request)
        if path == "/token":
            return self._token(request)
        if path == "/batch/gmail/v1" and request.method == "POST":
            return self._batch(request)
        if not path.startswith("/gmail/v1/users/me/"):
            return _error(404, "Not found", "notFound")
        auth = request.headers.get("Authorization", "")
        address = self.access_tokens.get(auth.removeprefix("Bearer "))
        if address is None:
            return _error(401, "Request had invalid authentication credentials.", "unauthenticated")
        box = self.mailbox(address)
        rest = path.removeprefix("/gmail/v1/users/me/")
        self.requests.append((request.method, request.full_path))
        if rest == "profile":
            return _json({"emailAddress": box.address, "messagesTotal": len(box.messages),
                          "threadsTotal": len({m["threadId"] for m in box.messages.values()}),
                          "historyId": str(box.history_id)})
        if rest == "history":
            return self._history(box, request)
        if rest == "watch" and request.method == "POST":
            return self._watch(box, request)
        if rest == "messages/send" and request.method == "POST":
            return self._send(box, request)
        if rest == "messages":
            return self._list(box, request)
        if rest.startswith("messages/"):
            return self._get(box, rest.removeprefix("messages/"))
        return _error(404, "Not found", "notFound")

    def _batch(self, request: Request) -> Response:
        """Gmail's batch endpoint: a multipart/mixed of application/http requests, answered by
        a multipart/mixed of application/http responses (Content-ID: <response-...>)."""
        envelope = message_from_bytes(b"Content-Type: " + request.headers["Content-Type"].encode() + b"\r\n\r\n"
                                      + request.get_data(), policy=default_policy)
        self.batches += 1
        boundary = f"batch_{secrets.token_hex(8)}"
        out = []
        for part in envelope.iter_parts():
            raw = part.get_payload(decode=False).replace("\r\n", "\n")
            request_line, _, rest = raw.partition("\n")
            method, target, _ = request_line.split(" ", 2)
            head = rest.partition("\n\n")[0]
            headers = dict(line.split(":", 1) for line in head.splitlines() if ":" in line)
            auth = next((v.strip() for k, v in headers.items() if k.lower() == "authorization"),
                        request.headers.get("Authorization", ""))
            path, _, query = target.partition("?")
            inner = self._route(Request(EnvironBuilder(path=path, query_string=query, method=method,
                                                       headers={"Authorization": auth}).get_environ()))
            http = (f"HTTP/1.1 {inner.status}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
                    f"{inner.get_data(as_text=True)}")
            out.append(f"--{boundary}\r\nContent-Type: application/http\r\n"
                       f"Content-ID: <response-{part['Content-ID'].strip('<>')}>\r\n\r\n{http}\r\n")
        return Response("".join(out) + f"--{boundary}--\r\n", content_type=f"multipart/mixed; boundary={boundary}")

    def _consent(self, request: Request) -> Response:
        code = secrets.token_urlsafe(16)
        self.codes[code] = (self.consent_as, request.args.get("code_challenge", ""))
        back = request.args["redirect_uri"] + "?" + urlencode(
            {"state": request.args.get("state", ""), "code": code, "scope": request.args.get("scope", "")})
        return Response("", status=302, headers={"Location": back})

    def _token(self, request: Request) -> Response:
        form = request.form.to_dict()
        self.token_requests.append(form)
        scope = self.granted_scope
        if form.get("grant_type") == "authorization_code":
            address, challenge = self.codes.pop(form.get("code", ""), (None, None))
            verifier = form.get("code_verifier", "")
            computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if address is None or computed != challenge:
                return _json({"error": "invalid_grant", "error_description": "Bad Request"}, 400)
            refresh, access = self.grant(address)
            return _json({"access_token": access, "expires_in": 3599, "refresh_token": refresh,
                          "scope": scope, "token_type": "Bearer"})
        if form.get("grant_type") == "refresh_token":
            refresh = form.get("refresh_token", "")
            if refresh in self.revoked or refresh not in self.refresh_tokens:
                return _json({"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
                             400)
            access = f"ya29.{secrets.token_urlsafe(24)}"
            self.access_tokens[access] = self.refresh_tokens[refresh]
            return _json({"access_token": access, "expires_in": 3599, "scope": scope, "token_type": "Bearer"})
        return _json({"error": "unsupported_grant_type"}, 400)

    def _watch(self, box: Mailbox, request: Request) -> Response:
        """users.watch as documented: a topic named projects/*/topics/*, Gmail allowed to publish to
        it, an answer with the mailbox's historyId and the watch's end (epoch ms, 7 days on)."""
        body = request.get_json(silent=True) or {}
        topic = str(body.get("topicName") or "")
        if not re.fullmatch(r"projects/[^/]+/topics/[^/]+", topic):
            return _error(400, "Invalid topicName does not match projects/*/topics/*", "invalidArgument")
        if topic in self.unauthorized_topics:
            return _error(403, f"Error sending test message to Cloud PubSub {topic} : User not authorized to "
                               "perform this action.", "forbidden")
        expiration = int((time.time() + 7 * 86400) * 1000)
        with self.lock:
            self.watches[box.address] = {**body, "expiration": expiration}
        return _json({"historyId": str(box.history_id), "expiration": str(expiration)})

    def _history(self, box: Mailbox, request: Request) -> Response:
        start = int(request.args.get("startHistoryId", "0"))
        if start < box.oldest_history_id:
            return _error(404, "Requested entity was not found.", "notFound")
        records = [h for h in box.history if int(h["id"]) > start]
        size = int(request.args.get("maxResults", "100"))
        offset = int(request.args.get("pageToken") or 0)
        body = {"history": records[offset:offset + size], "historyId": str(box.history_id)}
        if offset + size < len(records):
            body["nextPageToken"] = str(offset + size)
        if not body["history"]:
            del body["history"]
        return _json(body)

    def _list(self, box: Mailbox, request: Request) -> Response:
        found = list(reversed(box.messages.values()))  # newest first
        labels = request.args.getlist("labelIds")
        if labels:
            found = [m for m in found if set(labels) <= set(m["labelIds"])]
        for term in request.args.get("q", "").split():
            if term.startswith("rfc822msgid:"):
                wanted = term.removeprefix("rfc822msgid:").strip("<>")
                found = [m for m in found if (_header(m, "Message-ID") or "").strip("<>") == wanted]
            elif term.startswith("newer_than:") and term.endswith("d"):
                since = (time.time() - int(term[11:-1]) * 86400) * 1000
                found = [m for m in found if int(m["internalDate"]) >= since]
        size = int(request.args.get("maxResults", "100"))
        offset = int(request.args.get("pageToken") or 0)
        body = {"messages": [{"id": m["id"], "threadId": m["threadId"]} for m in found[offset:offset + size]],
                "resultSizeEstimate": len(found)}
        if offset + size < len(found):
            body["nextPageToken"] = str(offset + size)
        if not body["messages"]:
            del body["messages"]
        return _json(body)

    def _get(self, box: Mailbox, gmail_id: str) -> Response:
        with self.lock:
            left = self.failing_gets.get(gmail_id, 0)
            if left:
                self.failing_gets[gmail_id] = left - 1 if left > 0 else left
                return _error(500, "Backend Error", "backendError")
        message = box.messages.get(gmail_id)
        if message is None:
            return _error(404, "Requested entity was not found.", "notFound")
        return _json(message)

    def _send(self, box: Mailbox, request: Request) -> Response:
        body = request.get_json()
        raw = base64.urlsafe_b64decode(body["raw"] + "=" * (-len(body["raw"]) % 4))
        mime = message_from_bytes(raw, policy=default_policy)
        message_id = mime["Message-ID"]
        with self.lock:
            hang_before = message_id in self.hang_before
            self.hang_before.discard(message_id)
        if hang_before:  # Gmail never hears of it
            self.waiting.set()
            self._release.wait(120)
            return _error(503, "The service is currently unavailable.", "backendError")
        with self.lock:
            text = mime.get_body(("plain",))
            full = box.add(from_=str(mime["From"]), to=str(mime["To"]), subject=str(mime["Subject"]),
                           body=text.get_content() if text else "", message_id=message_id,
                           in_reply_to=mime["In-Reply-To"], references=mime["References"], labels=("SENT",),
                           thread_id=body.get("threadId"))
            box.sent.append({"raw": raw, "threadId": body.get("threadId"), "id": full["id"],
                             "headers": {k: str(v) for k, v in mime.items()}})
            hang_after = message_id in self.hang_after
            self.hang_after.discard(message_id)
        if hang_after:  # sent; the answer never reaches the worker
            self.waiting.set()
            self._release.wait(120)
        answer = sample("message-send-response.json")
        answer["id"], answer["threadId"] = full["id"], full["threadId"]
        return _json(answer)
