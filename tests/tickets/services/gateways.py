"""Payment gateways for tests of the refund lifecycle: the provider is outside the merchant's walls, so here it is
replaced behind the same interface (``tickets.payments.PaymentGateway`` v2), selected per order's payment
provider through ``KEFU_PAYMENT_GATEWAYS`` (``paying_gateway`` below). The real providers' gateways and their
HTTP simulators are the payments app's.

State is kept on the class because ``gateway_for()`` builds a new instance for every call.
"""

from __future__ import annotations

from django.utils import timezone
from pytest_django import Settings

from tickets.payments import GatewayError, PayoutAnswer, PayoutStatus, RefundRequest

PROVIDER = "alipay"  # the provider the test orders are paid through when a test wants a paying gateway


class RecordingGateway:
    """Pays every refund at once and remembers each call (to count payments)."""

    name = PROVIDER
    calls: list[RefundRequest] = []
    queries: list[RefundRequest] = []

    def __init__(self, *, shop_code: str = "") -> None:
        self.shop_code = shop_code

    @classmethod
    def reset(cls) -> None:
        cls.calls = []
        cls.queries = []

    def submit(self, request: RefundRequest) -> PayoutAnswer:
        type(self).calls.append(request)
        return self._paid(f"PAY-{len(type(self).calls)}-{request.idempotency_key}")

    def query(self, request: RefundRequest) -> PayoutAnswer:
        type(self).queries.append(request)
        return self._paid(f"PAY-{request.idempotency_key}")

    def _paid(self, reference: str) -> PayoutAnswer:
        return PayoutAnswer(status=PayoutStatus.SUCCEEDED, payer=self.name, reference=reference, paid_at=timezone.now())


class FlakyGateway(RecordingGateway):
    """Fails the first ``failures`` calls with ``GatewayError``, then pays."""

    calls: list[RefundRequest] = []
    failures = 0

    @classmethod
    def reset(cls, *, failures: int = 0) -> None:  # type: ignore[override]
        cls.calls = []
        cls.queries = []
        cls.failures = failures

    def submit(self, request: RefundRequest) -> PayoutAnswer:
        type(self).calls.append(request)
        if len(type(self).calls) <= type(self).failures:
            raise GatewayError(f"gateway timeout (call {len(type(self).calls)})")
        return self._paid(f"PAY-{request.idempotency_key}")


class AsyncGateway(RecordingGateway):
    """Accepts the refund (SUBMITTED) and pays it later: ``query`` answers ``outcome`` (SUBMITTED until changed)."""

    calls: list[RefundRequest] = []
    outcome: PayoutStatus = PayoutStatus.SUBMITTED
    message = ""

    @classmethod
    def reset(cls, *, outcome: PayoutStatus = PayoutStatus.SUBMITTED, message: str = "") -> None:  # type: ignore[override]
        cls.calls = []
        cls.queries = []
        cls.outcome = outcome
        cls.message = message

    def submit(self, request: RefundRequest) -> PayoutAnswer:
        type(self).calls.append(request)
        return PayoutAnswer(
            status=PayoutStatus.SUBMITTED, payer=self.name, reference=f"ASYNC-{request.idempotency_key}"
        )

    def query(self, request: RefundRequest) -> PayoutAnswer:
        type(self).queries.append(request)
        if type(self).outcome == PayoutStatus.SUCCEEDED:
            return self._paid(f"ASYNC-{request.idempotency_key}")
        return PayoutAnswer(status=type(self).outcome, payer=self.name, message=type(self).message)


RECORDING = "tests.tickets.services.gateways.RecordingGateway"
FLAKY = "tests.tickets.services.gateways.FlakyGateway"
ASYNC = "tests.tickets.services.gateways.AsyncGateway"


def paying_gateway(settings: Settings, path: str) -> None:
    """Refunds go through the test gateway ``path``: it stands in for the finance queue of the factories' orders
    (payment provider "manual") and for ``PROVIDER``, the one the refunds it answers name as their payer."""
    settings.KEFU_PAYMENT_GATEWAYS = {"manual": path, PROVIDER: path}
