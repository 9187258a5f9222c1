"""One exception root for everything cic-sts reports to a person.

The CLI turns a `StsError` into one clear line and a non-zero exit. The web layer sorts errors
in two kinds, by class, never by a number an error happens to carry:

- `ClientError`: the request is at fault. Answered with its `http_status` (4xx);
- everything else (`ServerError`, any other `StsError`, any other exception): answered 5xx.

Either way the page shows a reference and a plain sentence in the reader's language that says
what to do (`page_message`, a key of the page catalogs: the class's, or one given where the error
is raised); the message itself is the technical detail, for the log only, under that reference.
"""


class StsError(Exception):
    """A problem cic-sts can explain to its user."""

    #: Process exit code used by the CLI.
    exit_code = 1


class WebError(StsError):
    """An error with a page: `page_message`, a key of the page catalogs, is what the person
    reads; the message is the detail, for the log. A raise site can name a more precise key."""

    http_status = 500
    page_message = "server_error"

    def __init__(self, message: str, page_message: str | None = None) -> None:
        super().__init__(message)
        if page_message is not None:
            self.page_message = page_message


class ClientError(WebError):
    """The request cannot be accepted: a 4xx answer."""

    http_status = 400
    page_message = "request_refused"


class ServerError(WebError):
    """The server cannot answer right now: a 5xx answer with a reference, detail in the log."""

    http_status = 500
    page_message = "server_error"


class Misconfigured(ServerError):
    """A request needs a setting that is missing or wrong (the configuration's fault, found only
    when such a request comes): a 500, the setting named in the log."""


class ConfigError(StsError):
    """The configuration file, or a value in it, is wrong."""

    exit_code = 2


class KeyMaterialError(StsError):
    """A key or certificate is missing, unreadable or does not match."""


class DirectoryError(StsError):
    """The local user directory could not be read or written."""


#: The one message for every failed logon, whichever backend: it must not tell who exists or
#: who has a password.
AUTH_FAILED_MESSAGE = "unknown user ID or wrong password"


class AuthenticationFailed(StsError):
    """User ID or password rejected. Deliberately carries no detail about which."""


class PasswordExpired(ClientError):
    """The backend refused the logon because the password has expired (the user changes it in
    the PureConnect client)."""

    http_status = 403
    page_message = "password_expired"


class AccountLocked(ClientError):
    """The backend refused the logon because the account is locked."""

    http_status = 403
    page_message = "account_locked"


class BackendUnavailable(ServerError):
    """The authentication backend (CIC) could not be reached."""

    http_status = 503
    page_message = "backend_unavailable"


class StateUnavailable(ServerError):
    """The shared state store (Redis) cannot be reached."""

    http_status = 503
    page_message = "state_unavailable"


class UnusableUserRecord(ServerError):
    """A user's directory record holds something an assertion cannot carry (the directory's
    data is at fault, not the request: the administrator must correct it)."""

    page_message = "unusable_record"


class SamlError(ClientError):
    """A SAML message could not be accepted."""

    page_message = "saml_link_broken"


class SamlRequestError(SamlError):
    """The SAML request is malformed, oversized or otherwise unacceptable."""


class SamlStatusError(SamlError):
    """A valid request this IdP cannot satisfy (NoPassive, InvalidNameIDPolicy,
    NoAuthnContext): answered to the SP's registered ACS with a signed Response carrying
    `saml_status` under the top-level `top`, not with an error page."""

    def __init__(self, saml_status: str, message: str,
                 top: str = "urn:oasis:names:tc:SAML:2.0:status:Responder") -> None:
        super().__init__(message)
        self.saml_status = saml_status
        self.top = top


class UnknownServiceProvider(SamlError):
    """The request names an SP, or an ACS URL, that is not registered."""

    http_status = 403
    page_message = "unknown_sp"


class ProxyConfigError(StsError):
    """An input of the proxy generator is wrong, or nginx rejected what it rendered."""

    exit_code = 2


class GenesysError(StsError):
    """Genesys Cloud could not be asked, or refused a request."""


class GenesysAuthError(GenesysError):
    """Genesys Cloud refused the OAuth client credentials (wrong ID or secret, wrong region)."""


class GenesysUnavailable(GenesysError):
    """Genesys Cloud did not answer usefully, even after the retries (network, 5xx, 429)."""


class OutcomeUnknown(GenesysError):
    """A request that is not safe to repeat (a create) was sent, but its answer was lost."""


class ScimError(GenesysError):
    """Genesys Cloud answered a SCIM request with an error: `genesys_status` is the HTTP status
    Genesys Cloud answered with (never ours), `scim_type` its scimType."""

    def __init__(self, message: str, genesys_status: int, scim_type: str = "") -> None:
        super().__init__(message)
        self.genesys_status = genesys_status
        self.scim_type = scim_type


class VersionConflict(ScimError):
    """If-Match failed: the resource changed since its version was read (scimType invalidVers)."""


class UniquenessConflict(ScimError):
    """The userName (e-mail) is already used by another Genesys Cloud user."""


class SyncError(StsError):
    """The sync cannot run: its source, its state database or another sync is in the way."""


class PlatformError(GenesysError):
    """Genesys Cloud refused a Platform API request (its HTTP `genesys_status`, and its error
    `code`). Like `ScimError`, not an HTTP status for our own answers: see the module's note."""

    def __init__(self, message: str, genesys_status: int, code: str = "") -> None:
        super().__init__(message)
        self.genesys_status = genesys_status
        self.code = code
