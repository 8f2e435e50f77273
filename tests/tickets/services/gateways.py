"""Payment gateways for tests: the provider is outside the merchant's walls, so it is replaced behind the
same interface (``tickets.payments.PaymentGateway``) and selected with ``KEFU_PAYMENT_GATEWAY``.

State is kept on the class because ``get_gateway()`` builds a new instance for every call.
"""

from __future__ import annotations

from tickets.payments import GatewayError, RefundRequest, RefundResult


class RecordingGateway:
    """Pays every refund and remembers each call (to count payments)."""

    calls: list[RefundRequest] = []

    @classmethod
    def reset(cls) -> None:
        cls.calls = []

    def refund(self, request: RefundRequest) -> RefundResult:
        type(self).calls.append(request)
        return RefundResult(reference=f"PAY-{len(type(self).calls)}-{request.idempotency_key}")


class FlakyGateway(RecordingGateway):
    """Fails the first ``failures`` calls with ``GatewayError``, then pays."""

    calls: list[RefundRequest] = []
    failures = 0

    @classmethod
    def reset(cls, *, failures: int = 0) -> None:  # type: ignore[override]
        cls.calls = []
        cls.failures = failures

    def refund(self, request: RefundRequest) -> RefundResult:
        type(self).calls.append(request)
        if len(type(self).calls) <= type(self).failures:
            raise GatewayError(f"gateway timeout (call {len(type(self).calls)})")
        return RefundResult(reference=f"PAY-{request.idempotency_key}")


RECORDING = "tests.tickets.services.gateways.RecordingGateway"
FLAKY = "tests.tickets.services.gateways.FlakyGateway"
