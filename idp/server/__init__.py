"""The serving layer of the STS: the gunicorn worker class and what it needs.

- `worker`: the worker (gevent's pywsgi under gunicorn) with its deadlines, stop and access log;
- `head`: the strict reading of a request head (pure functions, no gevent);
- `body`: the deadline on reading a request body as a whole;
- `private`: every name of gevent and gunicorn the worker uses beyond their documented API.

`idp.gunicorn_conf` names the worker; docs/design.md ("Serving") says why it is this one.
"""
