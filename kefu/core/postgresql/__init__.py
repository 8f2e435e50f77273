"""kefu's PostgreSQL backend: Django's, with a health check that asks the socket first (``base``)."""
