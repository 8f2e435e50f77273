"""Surge's use cases: the queue watch's alerts (``alerts``) and reinforcements (``reinforcements``)."""
