"""What goes wrong with an outgoing request (kefu.core.outbound)."""

from __future__ import annotations


class OutboundError(Exception):
    """The request did not get a complete answer: refused target, timeout, body too large, connection, TLS."""


class BlockedTarget(OutboundError):
    """The URL, or an address its host resolves to, is not one kefu may send to (permanent)."""


class ResponseTooLarge(OutboundError):
    """The answer's body is larger than ``max_body``; ``status`` is the status it came with."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status
