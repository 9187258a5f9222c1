"""The proxy generator: publishes the STS of a CIC switchover pair through nginx or HAProxy.

`sources` gathers the inputs (options, `[proxy]`, `server.public_base_url`), `validate` checks
them for either proxy, `render` turns them into configuration with the Jinja2 templates of
`proxy_templates/` (one set per proxy, one context for both), `check` runs the real `nginx -t`
or `haproxy -c` on the result (`standins` for what this machine lacks), `write` swaps it into
place atomically (and only over a file this tool wrote), `verify` probes a live proxy the way a
browser would, and `ready` waits for the pair's `/readyz` in a rolling restart. No Flask here.
"""
