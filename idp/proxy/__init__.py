"""The proxy generator: publishes the STS of a CIC switchover pair through Nginx.

`inputs` validates what the network engineer typed (or wrote in `[proxy]`), `render` turns it
into configuration with the Jinja2 templates of `proxy_templates/`, `check` runs the real
`nginx -t` on the result, `write` swaps it into place atomically (and only over a file this tool
wrote), and `verify` probes a live proxy the way a browser would. No Flask here.
"""
