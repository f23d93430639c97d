"""A fault-injecting HTTP proxy on loopback, in front of the BigQuery emulator (stdlib only).

It forwards every request to the emulator unchanged, except the ones a rule matches: those get
BigQuery's real JSON error bodies (403 quotaExceeded, 403 rateLimitExceeded, 429, 500 backendError,
403 accessDenied), no answer at all (blackhole), or their answer late (delay: held `delay_s`, then
forwarded, like a server that answers `jobs.insert` only once the query has run). So the real client meets the real errors, through
its real retry and transport code, and nothing is mocked.

Bounded by construction: it serves at most `max_requests`, holds a blackholed connection at most
`blackhole_s` seconds, waits at most `upstream_s` seconds for the emulator's answer (past that the
client's connection is closed unanswered), and shuts itself down after `lifetime_s` even if a
test forgets to.
Every request is logged (method, path, JSON body) so tests can count jobs and inspect their config.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

_QUOTA_MSG = (
    "Quota exceeded: Your project exceeded quota for free query bytes scanned. For more "
    "information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas"
)
_RATE_MSG = (
    "Exceeded rate limits: too many api requests per user per method for this user_method. "
    "For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas"
)
_BACKEND_MSG = (
    "An internal error occurred and the request could not be completed. This is usually caused "
    "by a transient issue. Retrying the job with back-off as described in the BigQuery SLA "
    "should solve the problem: https://cloud.google.com/bigquery/sla. If the error continues to "
    "occur please contact support at https://cloud.google.com/support."
)
_DENIED_MSG = (
    "Access Denied: Table nba-props-platform:nba_raw.INFORMATION_SCHEMA.PARTITIONS: User does not "
    "have permission to query table nba-props-platform:nba_raw.INFORMATION_SCHEMA.PARTITIONS, or "
    "perhaps it does not exist."
)


def _body(code: int, status: str, reason: str, domain: str, message: str) -> bytes:
    err = {"message": message, "domain": domain, "reason": reason}
    return json.dumps(
        {"error": {"code": code, "message": message, "errors": [err], "status": status}}
    ).encode()


#: name -> (HTTP status, body): the shapes BigQuery's REST API returns.
ERRORS: dict[str, tuple[int, bytes]] = {
    "quota": (403, _body(403, "PERMISSION_DENIED", "quotaExceeded", "usageLimits", _QUOTA_MSG)),
    "rate": (403, _body(403, "PERMISSION_DENIED", "rateLimitExceeded", "usageLimits", _RATE_MSG)),
    "429": (429, _body(429, "RESOURCE_EXHAUSTED", "rateLimitExceeded", "global", _RATE_MSG)),
    "500": (500, _body(500, "INTERNAL", "backendError", "global", _BACKEND_MSG)),
    "denied": (403, _body(403, "PERMISSION_DENIED", "accessDenied", "global", _DENIED_MSG)),
}


@dataclass
class Rule:
    """Answer requests matching `method`, `path` (regex) and `body` (substring) with `action`.

    `action` is a key of `ERRORS`, "blackhole" or "delay" (forwarded after `delay_s` seconds);
    `times` limits how often it fires (None: always).
    """

    action: str
    method: str | None = "POST"
    path: str = r"/jobs$"
    body: str | None = None
    times: int | None = None
    fired: int = 0
    delay_s: float = 0.0

    def matches(self, method: str, path: str, body: bytes) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.method and method != self.method:
            return False
        if not re.search(self.path, urlsplit(path).path):
            return False
        return self.body is None or self.body.encode() in body


@dataclass
class Logged:
    method: str
    path: str
    body: bytes
    action: str
    at: float = field(default_factory=time.monotonic)

    def json(self) -> dict:
        return json.loads(self.body) if self.body else {}

    @property
    def is_job_insert(self) -> bool:
        return self.method == "POST" and urlsplit(self.path).path.endswith("/jobs")


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        max_requests: int = 5000,
        blackhole_s: float = 30.0,
        lifetime_s: float = 300.0,
        upstream_s: float = 60.0,
    ) -> None:
        u = urlsplit(upstream)
        self.upstream_host, self.upstream_port = u.hostname or "127.0.0.1", u.port or 80
        self.rules: list[Rule] = []
        self.log: list[Logged] = []
        self.max_requests = max_requests
        self.blackhole_s = blackhole_s
        self.upstream_s = upstream_s
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._held = 0
        #: When set, every query job resource passing through reports this many bytes billed in
        #: `statistics.query.totalBytesBilled`, as BigQuery does (the emulator reports none).
        self.bill_per_job: int | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                action, delay = proxy._decide(self.command, self.path, body)
                if action == "delay":
                    # Simulated latency, released early by clear()/stop() like a blackhole.
                    proxy._released.wait(min(delay, proxy.blackhole_s))
                if action == "blackhole":
                    # Never answer; hold the socket until released or the bound passes.
                    proxy._hold(+1)
                    try:
                        proxy._released.wait(proxy.blackhole_s)
                    finally:
                        proxy._hold(-1)
                    self.close_connection = True
                    return
                if action in ERRORS:
                    status, payload = ERRORS[action]
                    self._reply(status, payload, {"Content-Type": "application/json"})
                    return
                self._forward(body)

            def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload)
                self.close_connection = True

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=proxy.upstream_s
                )
                try:
                    headers = {
                        k: v
                        for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection", "content-length")
                    }
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    payload = proxy._billed(resp.read())
                    keep = {
                        k: v
                        for k, v in resp.getheaders()
                        if k.lower()
                        not in (
                            "transfer-encoding",
                            "connection",
                            "content-length",
                            "date",
                            "server",
                        )
                    }
                    self._reply(resp.status, payload, keep)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._timer = threading.Timer(lifetime_s, self.stop)
        self._timer.daemon = True

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _decide(self, method: str, path: str, body: bytes) -> tuple[str, float]:
        """The action for a request and, for "delay", how long to hold it."""
        with self._lock:
            action, delay = "forward", 0.0
            if len(self.log) >= self.max_requests:
                action = "500"
            else:
                for rule in self.rules:
                    if rule.matches(method, path, body):
                        rule.fired += 1
                        action, delay = rule.action, rule.delay_s
                        break
            self.log.append(Logged(method, path, body, action))
            return action, delay

    def _billed(self, payload: bytes) -> bytes:
        """Add `totalBytesBilled` to a query job resource (not to dry runs), if asked to."""
        if self.bill_per_job is None or b'"statistics"' not in payload:
            return payload
        try:
            doc = json.loads(payload)
        except ValueError:
            return payload
        query = doc.get("statistics", {}).get("query") if isinstance(doc, dict) else None
        if not isinstance(query, dict) or doc.get("configuration", {}).get("dryRun"):
            return payload
        query["totalBytesBilled"] = str(self.bill_per_job)
        return json.dumps(doc).encode()

    def _hold(self, step: int) -> None:
        with self._lock:
            self._held += step

    def held(self) -> int:
        """Blackholed requests still held unanswered: a caller that returned while this is above
        zero did not wait for its request to end."""
        with self._lock:
            return self._held

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Drop all rules and let blackholed connections go."""
        with self._lock:
            self.rules.clear()
        self._released.set()
        self._released = threading.Event()

    def job_inserts(self) -> list[Logged]:
        with self._lock:
            return [e for e in self.log if e.is_job_insert]

    def start(self) -> FaultProxy:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        self._timer.cancel()
        self._released.set()
        self.server.shutdown()
        self.server.server_close()
