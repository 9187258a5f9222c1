"""The sync: one way, CIC users to Genesys Cloud users over SCIM, so SSO identities match.

`sources` reads CIC users, `mapping` turns one into the Genesys Cloud user it should be, `plan`
decides what to do against what Genesys Cloud has (`view`), `apply` does it, `state` remembers
it per user in SQLite, and `engine` runs a whole pass.
"""
