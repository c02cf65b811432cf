"""A token-service simulator: a real HTTP server speaking tokens/network/protocol.py.

It stands in for a card network's token service (Visa Token Service, Mastercard MDES) in tests and
local runs. State lives in SQLite, so tokens survive a restart. It keeps no card number: only a
keyed digest of it, to give every token of one card the same Payment Account Reference (PAR).

Failure modes, set at start or at run time through `POST /_sim/config`, make the vault's failure
paths testable for real: `fail_rate` (share of answers that are 503), `latency_ms` (delay before
every answer) and `malformed` (answers that are not JSON). `POST /_sim/tokens/{ref}/events`
changes a token (`suspend`, `resume`, `delete`, `expire`, `reissue` with a new expiry) and pushes
the signed lifecycle event to the vault's webhook.
"""

import base64
import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import sqlite3
import threading
import time
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from core.card_numbers import detect_network, luhn_complete
from tokens import cards
from tokens.network.protocol import SIGNATURE_HEADER, sign

logger = logging.getLogger("vault.token_service_simulator")

# Token BIN ranges per network; tokens come from their own ranges, never the card's.
TOKEN_BINS = {"Visa": "489537", "Mastercard": "522134", "AmericanExpress": "374245", "Discover": "601141"}
ECI = {"Visa": "05", "Mastercard": "02", "AmericanExpress": "05", "Discover": "05"}
TOKEN_LIFETIME_YEARS = 3
_REF = re.compile(r"/v1/tokens/(tok_[0-9a-f]{32})(/cryptograms|/suspend|/resume)?")
_EVENT = re.compile(r"/_sim/tokens/(tok_[0-9a-f]{32})/events")


class SimulatorStore:
    """The simulator's state in SQLite; one connection guarded by a lock (the server is threaded)."""

    def __init__(self, path: str) -> None:
        self.lock = threading.Lock()
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        # A simulator's tokens need to outlive the process, not a power cut: no fsync per token.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS tokens (ref TEXT PRIMARY KEY, card_digest TEXT, network TEXT, "
            "token_number TEXT, exp_month TEXT, exp_year TEXT, par TEXT, status TEXT, card_last4 TEXT, created REAL)"
        )
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(tokens)")}
        if "requestor_reference" not in columns:  # a state file from before references were kept
            self.db.execute("ALTER TABLE tokens ADD COLUMN requestor_reference TEXT")
        # Every provision looks its reference up: without an index each one reads the whole table.
        self.db.execute("CREATE INDEX IF NOT EXISTS tokens_reference ON tokens (requestor_reference, card_digest)")
        self.db.execute("CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT)")
        self.secret = self._setting("par_secret") or self._set_setting("par_secret", secrets.token_hex(32))

    def _setting(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None

    def _set_setting(self, name: str, value: str) -> str:
        self.db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))
        return value

    def get(self, ref: str) -> dict | None:
        with self.lock:
            row = self.db.execute(
                "SELECT ref, network, token_number, exp_month, exp_year, par, status, card_last4 "
                "FROM tokens WHERE ref = ?",
                (ref,),
            ).fetchone()
        if row is None:
            return None
        keys = (
            "token_ref",
            "network",
            "token_number",
            "token_exp_month",
            "token_exp_year",
            "par",
            "status",
            "card_last4",
        )
        token = dict(zip(keys, row, strict=True))
        if token["status"] == "ACTIVE" and _expired(token["token_exp_month"], token["token_exp_year"]):
            token["status"] = "EXPIRED"
        return token

    def by_reference(self, reference: str, card_digest: str) -> str | None:
        """The live token already issued for this requestor reference and card, if any."""
        with self.lock:
            row = self.db.execute(
                "SELECT ref FROM tokens WHERE requestor_reference = ? AND card_digest = ? AND status != 'DELETED'",
                (reference, card_digest),
            ).fetchone()
        return row[0] if row else None

    def page(self, after: str, limit: int) -> list[dict]:
        with self.lock:
            rows = self.db.execute(
                "SELECT ref, status, requestor_reference FROM tokens WHERE ref > ? ORDER BY ref LIMIT ?",
                (after, limit),
            ).fetchall()
        return [
            {"token_ref": ref, "status": status, "requestor_reference": reference} for ref, status, reference in rows
        ]

    def insert(self, token: dict, card_digest: str, reference: str | None = None) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO tokens (ref, card_digest, network, token_number, exp_month, exp_year, par, status, "
                "card_last4, created, requestor_reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token["token_ref"],
                    card_digest,
                    token["network"],
                    token["token_number"],
                    token["token_exp_month"],
                    token["token_exp_year"],
                    token["par"],
                    token["status"],
                    token["card_last4"],
                    time.time(),
                    reference,
                ),
            )

    def update(self, ref: str, **fields: str) -> None:
        columns = {"status": "status", "token_exp_month": "exp_month", "token_exp_year": "exp_year"}
        with self.lock:
            for name, value in fields.items():
                self.db.execute(f"UPDATE tokens SET {columns[name]} = ? WHERE ref = ?", (value, ref))  # noqa: S608

    def par_for(self, card_number: str) -> tuple[str, str]:
        """(keyed digest of the card, its PAR): the same for every token of one card."""
        digest = hmac.new(self.secret.encode(), card_number.encode(), hashlib.sha256).digest()
        par = "V" + base64.b32encode(digest).decode()[:28]
        return digest.hex(), par


def _expired(month: str, year: str) -> bool:
    today = datetime.now(UTC)
    return (int(year), int(month)) < (today.year, today.month)


def _token_number(network: str, length: int, card_number: str) -> str:
    while True:
        body = TOKEN_BINS[network] + "".join(secrets.choice("0123456789") for _ in range(length - 7))
        number = luhn_complete(body)
        if number != card_number:
            return number


def public(token: dict) -> dict:
    """A token as the API shows it after creation: no token number."""
    shown = {key: value for key, value in token.items() if key not in ("token_number", "card_last4")}
    shown["token_last4"] = token["token_number"][-4:]
    shown["token_isin"] = token["token_number"][:6]
    return shown


class SimulatorConfig:
    def __init__(
        self,
        *,
        api_key: str,
        fail_rate: float,
        latency_ms: int,
        malformed: bool,
        seed: int | None,
        webhook_url: str | None,
        webhook_secret: str | None,
    ) -> None:
        self.api_key = api_key
        self.fail_rate = fail_rate
        self.latency_ms = latency_ms
        self.malformed = malformed
        self.random = random.Random(seed)  # noqa: S311 - failure injection, not security
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret


class SimulatorHandler(BaseHTTPRequestHandler):
    server_version = "TokenServiceSimulator/1"
    # Keep-alive, as a real token service: the vault's client reuses its connections. Every answer
    # carries a Content-Length, and every request's body is read before it is answered.
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm holds the
    # body back until the client's delayed ACK (40 ms) on a kept-alive connection.
    disable_nagle_algorithm = True
    store: SimulatorStore
    config: SimulatorConfig

    def log_message(self, format, *args):
        logger.debug("%s %s", self.command, self.path.split("?")[0])

    # --- plumbing -------------------------------------------------------------------------------

    def _read_body(self) -> None:
        self._raw = b""
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= 16 * 1024:
            raise ValueError("body too large")
        self._raw = self.rfile.read(length) if length else b""

    def _body(self) -> dict:
        data = json.loads(self._raw or b"{}")
        if not isinstance(data, dict):
            raise ValueError("body must be an object")
        return data

    def _send(self, status: int, payload: dict) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _error(self, status: int, code: str, message: str) -> None:
        self._send(status, {"error": {"code": code, "message": message}})

    def _injected_failure(self) -> bool:
        """Apply the configured latency, failure rate and malformed answers; True if answered here."""
        if self.config.latency_ms:
            time.sleep(self.config.latency_ms / 1000)
        if self.config.malformed:
            raw = b"<html>not json"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            return True
        if self.config.fail_rate and self.config.random.random() < self.config.fail_rate:
            self._error(503, "unavailable", "injected failure")
            return True
        return False

    def _authorised(self) -> bool:
        given = self.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {self.config.api_key}".encode()):
            return True
        self._error(401, "unauthorised", "bad credentials")
        return False

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?")[0]
        try:
            self._read_body()
            if path.startswith("/_sim/"):
                return self._control(method, path)
            if not self._authorised() or self._injected_failure():
                return None
            if method == "POST" and path == "/v1/tokens":
                return self._provision(self._body())
            if method == "GET" and path == "/v1/tokens":
                return self._list()
            match = _REF.fullmatch(path)
            if match is None:
                return self._error(404, "not_found", "no such route")
            return self._token_action(method, match.group(1), match.group(2) or "")
        except (ValueError, KeyError, TypeError):
            self.close_connection = True  # the body may be unread: the stream cannot be trusted
            return self._error(400, "bad_request", "malformed request")

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    # --- the protocol ---------------------------------------------------------------------------

    def _provision(self, body: dict) -> None:
        number = cards.normalise_number(str(body["card_number"]))
        month, year = cards.expiry(str(body["exp_month"]), str(body["exp_year"]))
        network = detect_network(number)
        if network not in TOKEN_BINS:
            return self._error(422, "not_eligible", "card network not supported")
        digest, par = self.store.par_for(number)
        reference = body.get("requestor_reference")
        reference = reference if isinstance(reference, str) and 0 < len(reference) <= 64 else None
        existing = self.store.by_reference(reference, digest) if reference else None
        if existing:
            # The same request again (say, after the vault's timeout): the token already issued.
            token = self.store.get(existing)
            return self._send(200, {**public(token), "token_number": token["token_number"]})
        today = datetime.now(UTC)
        token = {
            "token_ref": f"tok_{uuid.uuid4().hex}",
            "network": network,
            "token_number": _token_number(network, len(number), number),
            "token_exp_month": f"{today.month:02d}",
            "token_exp_year": str(min(today.year + TOKEN_LIFETIME_YEARS, year + TOKEN_LIFETIME_YEARS)),
            "par": par,
            "status": "ACTIVE",
            "card_last4": number[-4:],
        }
        del month
        self.store.insert(token, digest, reference)
        return self._send(201, {**public(token), "token_number": token["token_number"]})

    def _list(self) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        after = query.get("after", [""])[0]
        limit = max(1, min(int(query.get("limit", ["100"])[0]), 500))
        return self._send(200, {"tokens": self.store.page(after, limit)})

    def _token_action(self, method: str, ref: str, action: str) -> None:
        token = self.store.get(ref)
        if token is None:
            return self._error(404, "not_found", "no such token")
        if method == "GET" and not action:
            return self._send(200, public(token))
        if method == "POST" and action == "/cryptograms":
            if token["status"] != "ACTIVE":
                return self._error(409, "not_active", f"token is {token['status']}")
            cryptogram = base64.b64encode(secrets.token_bytes(20)).decode()
            return self._send(200, {"cryptogram": cryptogram, "eci": ECI[token["network"]]})
        if method == "DELETE" and not action:
            self.store.update(ref, status="DELETED")
            return self._send(200, public({**token, "status": "DELETED"}))
        if method == "POST" and action in ("/suspend", "/resume"):
            if token["status"] == "DELETED":
                return self._error(409, "deleted", "a deleted token cannot change")
            status = "SUSPENDED" if action == "/suspend" else "ACTIVE"
            self.store.update(ref, status=status)
            return self._send(200, public({**token, "status": status}))
        return self._error(405, "method_not_allowed", "method not allowed")

    # --- control (tests and local runs only; bound to the loopback) -----------------------------

    def _control(self, method: str, path: str) -> None:
        if method == "GET" and path == "/_sim/health":
            return self._send(200, {"ok": True})
        # Changing the simulator's behaviour or its tokens needs its key, like the protocol itself.
        if not self._authorised():
            return None
        if method == "POST" and path == "/_sim/config":
            body = self._body()
            self.config.fail_rate = float(body.get("fail_rate", self.config.fail_rate))
            self.config.latency_ms = int(body.get("latency_ms", self.config.latency_ms))
            self.config.malformed = bool(body.get("malformed", self.config.malformed))
            return self._send(
                200,
                {
                    "fail_rate": self.config.fail_rate,
                    "latency_ms": self.config.latency_ms,
                    "malformed": self.config.malformed,
                },
            )
        match = _EVENT.fullmatch(path)
        if method == "POST" and match:
            return self._event(match.group(1), self._body())
        return self._error(404, "not_found", "no such route")

    def _event(self, ref: str, body: dict) -> None:
        token = self.store.get(ref)
        if token is None:
            return self._error(404, "not_found", "no such token")
        if token["status"] == "DELETED":
            return self._error(409, "deleted", "a deleted token cannot change")
        event = body.get("event") if isinstance(body, dict) else None
        if event not in ("suspend", "resume", "delete", "expire", "reissue"):
            return self._error(400, "bad_request", "event must be suspend, resume, delete, expire or reissue")
        if event == "reissue":
            try:
                cards.expiry(str(body.get("token_exp_month", "")), str(body.get("token_exp_year", "")))
            except cards.CardRuleError:
                return self._error(400, "bad_request", "a reissued token needs a valid expiry")
        changes = {
            "suspend": {"status": "SUSPENDED"},
            "resume": {"status": "ACTIVE"},
            "delete": {"status": "DELETED"},
            "expire": {"status": "EXPIRED"},
            "reissue": {
                "token_exp_month": str(body.get("token_exp_month", "")),
                "token_exp_year": str(body.get("token_exp_year", "")),
            },
        }[event]
        self.store.update(ref, **changes)
        token = {**token, **changes}
        delivered = self._push(token)
        return self._send(200, {"token": public(token), "webhook_status": delivered})

    def _push(self, token: dict) -> int | None:
        """Send the signed lifecycle event to the vault; answer the vault's HTTP status, or None."""
        if not (self.config.webhook_url and self.config.webhook_secret):
            return None
        body = json.dumps(
            {
                "event_id": f"evt_{uuid.uuid4().hex}",
                "token_ref": token["token_ref"],
                "status": token["status"],
                "token_exp_month": token["token_exp_month"],
                "token_exp_year": token["token_exp_year"],
                "occurred_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the configured vault URL
            self.config.webhook_url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.config.webhook_secret)},
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return None


def make_server(*, host: str, port: int, state_path: str, config: SimulatorConfig) -> ThreadingHTTPServer:
    store = SimulatorStore(state_path)
    handler = type("BoundSimulatorHandler", (SimulatorHandler,), {"store": store, "config": config})
    return ThreadingHTTPServer((host, port), handler)
