"""cic-sts: PureConnect (CIC) as a SAML identity provider for Genesys Cloud."""

__version__ = "0.1.0"
