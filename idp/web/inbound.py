"""The web side of `idp.saml.inbound`: the raw query and form of the request being answered,
judged with the configuration and the public bases this STS is reached under."""

from __future__ import annotations

from collections.abc import Callable

from flask import g, request

from idp.errors import SamlRequestError
from idp.saml.inbound import M, Policy, Received, binding_of, receive
from idp.saml.query_signature import PROTOCOL_PARAMETERS, raw_parameters
from idp.saml.registry import ServiceProvider
from idp.web.context import sts


def raw_query() -> str:
    return request.query_string.decode("ascii", "replace")


def form() -> dict[str, str]:
    """The POSTed form; a protocol parameter given twice is refused, as in the query."""
    if request.method != "POST":
        return {}
    for name in PROTOCOL_PARAMETERS:
        if len(request.form.getlist(name)) > 1:
            raise SamlRequestError(f"the request carries {name} more than once")
    return request.form.to_dict()


def carried(parameter: str) -> str | None:
    """The binding that carries `parameter` in this request, or None. A protocol parameter
    given twice, in the query or in the form, is refused."""
    return binding_of(raw_parameters(raw_query()), form(), parameter)


def receive_message(parameter: str, parse: Callable[[bytes, int], M], path: str,
                    require_signature: Callable[[ServiceProvider], bool] = lambda sp: False
                    ) -> Received[M]:
    """The SAML message in `parameter` of this request, sent to our `path` (SSO_PATH or
    LOGOUT_PATH), checked (see `idp.saml.inbound`)."""
    ctx = sts()
    idp = ctx.config.idp
    bases = {g.remap.base_url, ctx.config.public_base_url, *ctx.remap.allowed}
    policy = Policy(max_bytes=idp.max_message_bytes, now=ctx.clock(),
                    destinations=[base + path for base in bases],
                    max_age=idp.request_max_age, skew=idp.request_clock_skew,
                    remember=ctx.store.add_once)
    return receive(raw_query(), form(), parameter, parse, ctx.registry, policy,
                   require_signature)
