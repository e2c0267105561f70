"""A local server answering as the Android SMS Gateway's API does (POST /messages with a
client-chosen id: 409 for an id it has; GET /messages/<id>: the state, or 404), recording how
many times each id was accepted. `hang_before` / `hang_after` make the first POST of an id
wait (before or after it is accepted) until `release()`: a worker can be killed there."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "sms-gateway"


class FakeGateway:
    def __init__(self):
        self.accepted: dict[str, int] = {}  # id -> times accepted (must stay 1)
        self.posts: dict[str, int] = {}  # id -> POSTs received (409s included)
        self.messages: dict[str, dict] = {}
        self.auth: list[str] = []
        self.hang_before: set[str] = set()
        self.hang_after: set[str] = set()
        self.waiting = threading.Event()  # a POST is hanging
        self._release = threading.Event()
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict | None = None):
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gateway.auth.append(self.headers.get("Authorization", ""))
                message_id = body["id"]
                with gateway.lock:
                    gateway.posts[message_id] = gateway.posts.get(message_id, 0) + 1
                    hang_before = message_id in gateway.hang_before
                    gateway.hang_before.discard(message_id)
                if hang_before:  # the phone never hears of it
                    gateway.waiting.set()
                    gateway._release.wait(120)
                    return self._answer(503, {"message": "gone"})
                with gateway.lock:
                    if message_id in gateway.messages:
                        return self._answer(409, {"message": "message with such ID already exists"})
                    gateway.accepted[message_id] = gateway.accepted.get(message_id, 0) + 1
                    state = json.loads((SAMPLES / "send-message-response.json").read_text())
                    state["id"] = message_id
                    state["recipients"] = [{"phoneNumber": n, "state": "Pending"} for n in body["phoneNumbers"]]
                    gateway.messages[message_id] = state
                    hang_after = message_id in gateway.hang_after
                    gateway.hang_after.discard(message_id)
                if hang_after:  # accepted; the answer never reaches the worker
                    gateway.waiting.set()
                    gateway._release.wait(120)
                return self._answer(202, state)

            def do_GET(self):  # noqa: N802
                message_id = self.path.rsplit("/", 1)[-1]
                state = gateway.messages.get(message_id)
                if state is None:
                    return self._answer(404, {"message": "message not found"})
                return self._answer(200, state)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/3rdparty/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def release(self):
        self._release.set()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release()
        self.server.shutdown()
        self.server.server_close()
