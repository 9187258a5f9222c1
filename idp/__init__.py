"""cic-sts: PureConnect (CIC) as a SAML identity provider for Genesys Cloud.

The version is pyproject.toml's alone; `cic-sts --version` reads it from the installed
distribution.
"""
