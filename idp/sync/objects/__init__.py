"""The Advanced Platform Objects sync (``sync.platform_objects``): CIC workgroups, skills and
wrap-up codes to Genesys Cloud queues (with members), routing skills or languages (on users),
and wrap-up codes (on queues). `engine` runs a pass; docs/sync-objects.md tells the rules."""
