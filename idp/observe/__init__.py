"""What an operator watches: Prometheus metrics (`metrics`, shared by gunicorn's workers through
`multiproc`), the audit log (`audit`) and certificate expiry (`certificates`). Nothing here
imports Flask or the worker; the web layer calls in (`idp.web.observe`)."""
