"""The leaf every kefu app may import, and that imports none of them (the import contract in
pyproject.toml, ``lint-imports``, enforces it).

- ``vocabulary``: the words the apps share: ticket kinds and their states, priorities, the default
  departments' codes. Declared once here; models, routing rules, templates and the API use them.
- ``errors``: the domain errors every service raises and every interface translates (API, admin, tasks).
- ``config_cache``: per-process snapshots of configuration tables, invalidated on save (signals) and across
  processes through a generation number in the cache.
- ``prepared``: server-side prepared statements for the few hot queries (PostgreSQL); the one place that
  relies on Django's query compiler internals, pinned by tests/kefu/test_prepared.py.
"""
