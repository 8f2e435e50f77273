"""The ticket core's domain events: what other apps may subscribe to without the core knowing them.

``ticket_event_recorded`` is sent by ``tickets.services.engine.event_record`` right after it writes a timeline
entry, for every entry (every ticket change writes one, and only through ``event_record``), with

- ``event``: the ``TicketEvent`` just written (saved: it has its primary key);
- ``ticket``: the ticket after the change, as the caller holds it (locked, of its kind).

Receivers run synchronously inside the change's transaction, in the order they were connected. So what a
receiver writes commits or rolls back with the change (the notification outbox relies on this), and an
exception a receiver raises propagates to the caller and rolls the whole change back (``send``, never
``send_robust``: a change must not commit without what its subscribers write). A receiver must not do network
I/O here (the ticket row is locked); it hands such work over with ``transaction.on_commit``.

``refund_ready`` is sent after the commit that reserved a refund (or put a failed one back to be retried),
with ``refund_id``: the refund is there to be paid. ``tickets.tasks`` queues the payment task on it (connected
in ``TicketsConfig.ready``), so the refund services need not import their own tasks.
"""

from __future__ import annotations

from django.dispatch import Signal

# Cached per sender (always TicketEvent): sending costs a dictionary lookup, not a walk over the receivers.
ticket_event_recorded = Signal(use_caching=True)
refund_ready = Signal()
