"""The Content-Security-Policy of the STS's pages: nothing but its own stylesheet and images,
scripts only with the answer's nonce, forms only to where the page says."""

from __future__ import annotations


def content_security_policy(nonce: str | None = None, form_action: str = "'self'") -> str:
    scripts = f"script-src 'nonce-{nonce}'; " if nonce else ""
    return (f"default-src 'none'; {scripts}style-src 'self'; img-src 'self'; "
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'")
