"""The leaf every kefu app may import, and that imports none of them (the import contract in
pyproject.toml, ``lint-imports``, enforces it).

- ``vocabulary``: the words the apps share: ticket kinds and their states, priorities, the default
  departments' codes. Declared once here; models, routing rules, templates and the API use them.
- ``errors``: the domain errors every service raises and every interface translates (API, admin, tasks).
- ``config_cache``: per-process snapshots of configuration tables, invalidated on save (signals) and across
  processes through a generation number in the cache.
- ``prepared``: statements composed once per process for the few hot queries (their SQL is still the
  queryset's; ``instances`` also builds the select_related objects); relies on Django's query compiler
  internals, pinned by tests/kefu/test_prepared.py.
- ``writes``: the writes of one change (new rows of several tables, a row's changed columns) as one statement on
  PostgreSQL, each INSERT and UPDATE composed once per process by Django's compilers; relies on their internals,
  pinned by tests/kefu/test_writes.py.
- ``known_rows``: rows an object already knows (a ticket's lines and timeline just written), kept where
  ``prefetch_related`` keeps them; relies on Django's prefetch cache, pinned by tests/kefu/test_known_rows.py.
- ``outbound``: the one guarded HTTP client for every request kefu sends out (webhooks, robots, SMS, later
  connectors): public addresses only, resolved once and pinned, no redirects, a total deadline, a bounded
  answer, masked excerpts; ``outbound.validators`` checks a URL when it is saved.
"""
