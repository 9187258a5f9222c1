"""Genesys Cloud: regions, and later the OAuth and SCIM clients."""
