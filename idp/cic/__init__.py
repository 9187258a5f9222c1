"""CIC itself, over ICWS (CIC's REST API): logons, user records, and the user list for the sync."""
