"""Push bridges: the long-lived WebSocket connections some platforms push over (Taobao's TMC, Pinduoduo's PMC).

Each bridge is a process of its own (``manage.py connectors_tmc`` / ``connectors_pmc``), never a web worker: it
holds the app's connection, stores every message in the durable inbox before acknowledging it, and reconnects
with backoff (``runner``). Outbound connections obey ``kefu.core.outbound``'s address rules (``guarded``).
"""
