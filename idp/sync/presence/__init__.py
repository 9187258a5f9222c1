"""The presence sync (``sync.presence``): CIC agent statuses to Genesys Cloud presences, near
real time. `service` runs it; docs/sync-objects.md tells the mapping and its limits."""
