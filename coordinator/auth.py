"""Who is calling: API tokens mapped to principals, and the two short-lived capabilities that
keep tokens out of URLs (a browser can set no header on a WebSocket or a plain link).

- ``Authorization: Bearer <token>`` on every API request; a token never in a query string
  (``?token=`` is refused: URLs end up in access logs, proxies and browser history).
- WebSockets: a single-use ticket from ``POST /api/exports/{id}/ticket``, bound to the job and
  the principal, redeemed once as ``?ticket=`` within ``TICKET_SECONDS``.
- Downloads: links signed with HMAC (job, principal, expiry), minted into status documents and
  the feed's ``complete`` message.

No token configured: the API is open to one user, who sees every job (the embedded default).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from common.config import ApiToken

TICKET_SECONDS = 30.0
"""A WebSocket ticket's lifetime: long enough for the connect that follows the POST."""

MAX_TICKETS = 10_000
"""Outstanding tickets kept at most (the oldest go first): a client asking for many costs
bounded memory."""

URL_SECRETS = ("token", "ticket", "sig")
"""Query parameters that are credentials: redacted from access logs."""


@dataclass(frozen=True)
class Principal:
    """The caller: ``name`` is None for the open API's single user (who sees everything)."""

    name: str | None
    admin: bool

    def owns(self, owner: str | None) -> bool:
        """May this principal see, download and cancel a job ``owner`` submitted?"""
        return self.admin or (owner is not None and owner == self.name)


OPEN = Principal(None, admin=True)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class TokenTable:
    """The accepted tokens. Each lookup compares the offered token with every token in constant
    time (of equal-length digests), so neither a match nor its position shows in the timing."""

    def __init__(self, tokens: Iterable[ApiToken], admins: Iterable[str]) -> None:
        self._tokens = [(principal, _digest(token)) for principal, token in tokens]
        self.principals = frozenset(principal for principal, _ in self._tokens)
        self.admins = frozenset(admins)

    @property
    def open(self) -> bool:
        return not self._tokens

    def principal(self, offered: str) -> Principal | None:
        offered_digest = _digest(offered)
        found: str | None = None
        for principal, digest in self._tokens:
            if hmac.compare_digest(offered_digest, digest):
                found = principal
        return None if found is None else self.named(found)

    def named(self, name: str) -> Principal:
        return Principal(name, admin=name in self.admins)


class LinkSigner:
    """Download links that work without a header for a while: HMAC-SHA256 over the job, the
    principal and the expiry time, with a key of the coordinator's."""

    def __init__(
        self, key: bytes, lifetime_s: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.key = key
        self.lifetime_s = lifetime_s
        self.clock = clock

    def _sig(self, job_id: str, principal: str, expires: int) -> str:
        message = f"download\n{job_id}\n{principal}\n{expires}".encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def sign(self, path: str, job_id: str, principal: Principal) -> str:
        """``path`` with ``?p=&exp=&sig=``; the open API's user needs no signature."""
        if principal.name is None:
            return path
        expires = int(self.clock() + self.lifetime_s)
        query = {
            "p": principal.name,
            "exp": expires,
            "sig": self._sig(job_id, principal.name, expires),
        }
        return f"{path}?{urlencode(query)}"

    def verify(self, job_id: str, query: dict[str, list[str]]) -> str | None:
        """The principal a valid, unexpired link was signed for; None otherwise."""
        name, expires, sig = (query.get(k, [""])[0] for k in ("p", "exp", "sig"))
        if not (name and sig and expires.isascii() and expires.isdigit() and len(expires) <= 12):
            return None  # (a longer number is no time this link could have, nor int()-safe)
        expected = self._sig(job_id, name, int(expires))
        if not hmac.compare_digest(sig.encode(), expected.encode()):
            return None
        return name if int(expires) >= self.clock() else None


class TicketBook:
    """Single-use WebSocket tickets, each bound to one job and one principal. Kept in this
    process: a ticket is redeemed at the coordinator that issued it, seconds later."""

    def __init__(
        self, lifetime_s: float = TICKET_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.lifetime_s = lifetime_s
        self.clock = clock
        self._lock = threading.Lock()
        self._tickets: dict[str, tuple[str, Principal, float]] = {}

    def issue(self, job_id: str, principal: Principal) -> str:
        ticket = secrets.token_urlsafe(24)
        now = self.clock()
        with self._lock:
            for key in [k for k, (_, _, until) in self._tickets.items() if until < now]:
                del self._tickets[key]
            while len(self._tickets) >= MAX_TICKETS:
                del self._tickets[next(iter(self._tickets))]
            self._tickets[ticket] = (job_id, principal, now + self.lifetime_s)
        return ticket

    def redeem(self, ticket: str, job_id: str) -> Principal | None:
        """The ticket's principal if it was issued for ``job_id`` and is unexpired; it is spent
        either way (a ticket offered for another job is not kept for a second guess)."""
        with self._lock:
            entry = self._tickets.pop(ticket, None)
        if entry is None:
            return None
        issued_for, principal, until = entry
        if issued_for != job_id or until < self.clock():
            return None
        return principal


def redact_query(path: str) -> str:
    """``path`` with the values of credential parameters replaced (for logs)."""
    if "?" not in path:
        return path
    base, _, query = path.partition("?")
    names = "|".join(URL_SECRETS)
    return base + "?" + re.sub(rf"(^|&)({names})=[^&]*", r"\1\2=[redacted]", query)


def query_of(scope_query: bytes) -> dict[str, list[str]]:
    return parse_qs(scope_query.decode("latin-1"), keep_blank_values=True)
