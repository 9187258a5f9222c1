"""The demo's user and service provider, and how to recognise them where they do not belong.

`make run` publishes the demo user's password in the README; `serve` refuses to start while the
configuration registers the demo SP or the directory holds that user with that password, and
the sync never provisions the demo user (`is_demo_user`). No onelogin import here: `serve` and
the sync use this module without the demo extra installed.
"""

from __future__ import annotations

from idp.config import Config
from idp.errors import AuthenticationFailed, DirectoryError
from idp.users import CicUser

DEMO_USER = CicUser("demo", "Demo Agent", "demo.agent@example.com",
                    {"business": "+13175551234", "mobile": "+13175550000"})
DEMO_PASSWORD = "PureConnect-demo-1"  # published in the README; for the demo directory only

#: The OrganizationName of the demo SP's metadata: what marks it when a configuration
#: registers it.
DEMO_SP_ORGANIZATION = "cic-sts-demo-sp-not-for-production"


def is_demo_user(user: CicUser) -> bool:
    """Whether `user` is the demo's user (by user ID and e-mail, both as the demo makes them)."""
    return (user.user_id.casefold() == DEMO_USER.user_id
            and user.email.casefold() == DEMO_USER.email)


def demo_leftovers(config: Config) -> list[str]:
    """What of the demo `config` serves: the demo SP, the demo user with its known password."""
    found = []
    for sp in config.service_providers:
        try:
            if DEMO_SP_ORGANIZATION.encode() in sp.metadata.read_bytes():
                found.append(f"the demo SP ({sp.metadata})")
        except OSError:
            pass  # an unreadable file is reported when the SPs are loaded
    database = config.directory.database
    if config.directory.backend == "local" and database.exists():
        from idp.auth.local import LocalDirectory

        directory = LocalDirectory(database)
        try:
            directory.authenticate(DEMO_USER.user_id, DEMO_PASSWORD)
            found.append(f"the demo user {DEMO_USER.user_id!r} with the published password "
                         f"({database})")
        except (AuthenticationFailed, DirectoryError):
            pass
        finally:
            directory.close()
    return found
