"""The typical path of each kind through the desk, and how long a person takes on each step.

A simulated ticket walks one path: the states of its kind's state machine (tickets.workflows) in which the
merchant acts, in order. Which department works each step and its deadline are *not* written here: they come
from the real routing (the kind's ``STEPS`` table, the routing rules, the deadline policies and the departments'
calendars, see surge.simulation.desk). The buyer's and the carrier's time between two steps (shipping a return
back, a parcel on its way) is the plan's ``wait_minutes`` (0 by default: every step is played on the day).

- return: ``requested`` (review) → ``received`` (inspect the parcel) → ``refund_pending`` (pay the refund)
- exchange: ``requested`` (review) → ``received`` (inspect) → ``replacement_pending`` (pick and ship the new item)
- complaint: ``open`` (first answer) → ``acknowledged`` → ``investigating``
- logistics: ``reported`` (open the claim) → ``investigating`` (follow the carrier) → ``reshipping`` (ship again)

With the default routing these are operations → warehouse → operations, operations → warehouse → warehouse,
operations three times, and logistics → logistics → warehouse.
"""

from __future__ import annotations

DEFAULT_PATHS: dict[str, tuple[str, ...]] = {
    "return": ("requested", "received", "refund_pending"),
    "exchange": ("requested", "received", "replacement_pending"),
    "complaint": ("open", "acknowledged", "investigating"),
    "logistics": ("reported", "investigating", "reshipping"),
}

# Minutes of a person's time per step: a desk's rough figures, to be replaced by the plan's own.
DEFAULT_HANDLING_MINUTES: dict[str, dict[str, float]] = {
    "return": {"requested": 4, "received": 6, "refund_pending": 2},
    "exchange": {"requested": 4, "received": 6, "replacement_pending": 8},
    "complaint": {"open": 5, "acknowledged": 3, "investigating": 15},
    "logistics": {"reported": 5, "investigating": 10, "reshipping": 8},
}
FALLBACK_HANDLING_MINUTES = 5.0
