"""Who may talk to the chat and the API: loopback only, unless credentials are set.

`rag serve` answers, ingests and deletes; `rag chat` does the same through its page. Bound to
127.0.0.1 only this machine reaches them. Bound to any other address, anyone on the network
does, so there they refuse to start without credentials: a bearer key for the API
(`RAG_API_KEY`), a login for the chat (`RAG_CHAT_USER`, `RAG_CHAT_PASSWORD`). Both are read
from the environment only (see `config.SECRETS`), compared in constant time and never
printed.
"""

from __future__ import annotations

import hmac
import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})

API_CREDENTIALS = ("the API", "RAG_API_KEY (clients then send Authorization: Bearer <key>)")
CHAT_CREDENTIALS = ("the chat", "RAG_CHAT_USER and RAG_CHAT_PASSWORD (the page then asks for them)")
"""What `check_exposure` names, and what it tells the reader to set, per server."""


class ExposureError(RuntimeError):
    """A server asked to listen beyond this machine without credentials."""


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost).
    An empty host or 0.0.0.0 means every interface, so it is not loopback; nor is any other
    host name, whatever it resolves to today."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, has_credentials: bool, what: str, how: str) -> None:
    """Refuse to serve `what` on a non-loopback `host` without credentials; `how` tells the
    reader what to set."""
    if has_credentials or is_loopback(host):
        return
    raise ExposureError(
        f"refusing to serve {what} on {host or 'every interface'}: that address is reachable "
        f"from other machines, and {what} answers, ingests and deletes for anyone who reaches "
        f"it. Set {how} in the environment, or bind 127.0.0.1 (RAG_HOST)."
    )


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the expected one."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer_ok(authorization: str | None, key: str) -> bool:
    """True when an `Authorization` header carries `Bearer <key>`."""
    if not authorization:
        return False
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and same_secret(token.strip(), key)
