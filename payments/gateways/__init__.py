"""One module per payment provider, each implementing ``tickets.payments.PaymentGateway`` (refunds) and
:class:`payments.gateways.base.TransferGateway` (compensation transfers); every request goes out through
``kefu.core.outbound``."""
