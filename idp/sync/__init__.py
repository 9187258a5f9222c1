"""The sync: one way, CIC users to Genesys Cloud users over SCIM, so SSO identities match.

`sources` reads CIC users (complete snapshots only) and `scope` picks those the sync manages;
`mapping` turns one into the Genesys Cloud user it should be; `plan` decides what to do against
what Genesys Cloud has (`view`), with `removals` and `guard` bounding what it may remove, in the
vocabulary of `actions`; `apply` does it; `state` and `history` remember it in SQLite; `engine`
runs a whole pass and `report` says what it did; `admin` mends links by hand.
"""
