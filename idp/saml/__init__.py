"""The SAML protocol: parse requests, build and sign responses, metadata, the SP registry.

Nothing here imports Flask: the web layer calls in with plain values.
"""
