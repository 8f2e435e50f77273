"""The connectors' use cases: ``ingest`` (a snapshot into a ticket), ``writeback`` (staff decisions to the
platform through the outbox), ``sync`` (pull, inbox, reconciliation). Tasks, views, admin actions and commands
call these and nothing else."""
