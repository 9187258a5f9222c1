"""One exception root for everything cic-sts reports to a person.

The CLI turns a `StsError` into one clear line and a non-zero exit; the web layer turns
`SamlRequestError` and friends into an error page with an id that is also in the log.
"""


class StsError(Exception):
    """A problem cic-sts can explain to its user."""

    #: Process exit code used by the CLI.
    exit_code = 1


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


class BackendUnavailable(StsError):
    """The authentication backend (CIC) could not be reached."""


class StateUnavailable(StsError):
    """The shared state store (Redis) cannot be reached; `status` is the HTTP answer."""

    status = 503


class UnusableUserRecord(StsError):
    """A user's directory record holds something an assertion cannot carry."""

    status = 422


class SamlError(StsError):
    """A SAML message could not be accepted; `status` is the HTTP status to answer with."""

    status = 400


class SamlRequestError(SamlError):
    """The SAML request is malformed, oversized or otherwise unacceptable."""


class UnknownServiceProvider(SamlError):
    """The request names an SP, or an ACS URL, that is not registered."""

    status = 403


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
    """Genesys Cloud answered a SCIM request with an error (`status`, `scim_type`)."""

    def __init__(self, message: str, status: int, scim_type: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.scim_type = scim_type


class VersionConflict(ScimError):
    """If-Match failed: the resource changed since its version was read (scimType invalidVers)."""


class UniquenessConflict(ScimError):
    """The userName (e-mail) is already used by another Genesys Cloud user."""


class SyncError(StsError):
    """The sync cannot run: its source, its state database or another sync is in the way."""


class PlatformError(GenesysError):
    """Genesys Cloud refused a Platform API request (`status`, and its error `code`)."""

    def __init__(self, message: str, status: int, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
