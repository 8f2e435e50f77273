"""回访 and service quality (quality app, docs/desk.md "Satisfaction (回访)")."""

from kefu.conf.framework import env

# How long a satisfaction link works after it was sent; the buyer may answer once within it.
KEFU_SURVEY_VALID_DAYS = env.int("KEFU_SURVEY_VALID_DAYS", default=14)
# An answer at or below this score opens a follow-up task for the supervisors.
KEFU_SURVEY_LOW_SCORE = env.int("KEFU_SURVEY_LOW_SCORE", default=2)
# Where buyers reach kefu's public pages (the satisfaction link is absolute: it goes out by SMS, email, webhook).
KEFU_PUBLIC_BASE_URL = env.str("KEFU_PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
