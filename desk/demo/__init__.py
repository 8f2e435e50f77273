"""The demo data of ``manage.py seed_demo``: the shops, staff and catalogue (``setup``) and the tickets of every
kind in various states, made through the services (``scenarios``), and the last 30 days of tickets (``history``)."""
