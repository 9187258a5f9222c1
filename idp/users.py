"""The CIC user at the bottom of everything: its fields, and what may be one.

Backends (`idp.auth`), clients (`idp.cic`), the sync and the web layer all speak of `CicUser`;
this module imports nothing of theirs, so none of them has to import another to say "user".
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The longest CIC user ID accepted.
MAX_USER_ID_LENGTH = 128


@dataclass(frozen=True)
class CicUser:
    """The CIC user fields cic-sts cares about (Interaction Administrator names in comments)."""

    user_id: str  # the CIC user ID (logon name)
    display_name: str = ""  # Personal Info > General > Display Name
    email: str = ""  # Personal Info > Internet > Business Email: the SSO identity
    phones: dict[str, str] = field(default_factory=dict)  # PHONE_FIELDS keys
    #: CIC workgroups the user belongs to, when the source says (the sync's scoping uses them)
    workgroups: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """What to call the user: the display name, which defaults to the user ID in CIC."""
        return self.display_name or self.user_id


#: CIC phone fields, in the order the CSV columns and the sync mapping use.
PHONE_FIELDS = ("business", "business2", "mobile", "home", "fax")


def has_control_characters(text: str) -> bool:
    """Whether `text` has C0/C1 control characters (tabs and line breaks included)."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)


def user_id_problem(user_id: str) -> str | None:
    """Why `user_id` cannot be a CIC user ID, or None if it can."""
    if not user_id:
        return "user_id is missing"
    if has_control_characters(user_id):
        return "user_id contains control characters"
    if any(c.isspace() for c in user_id):
        return f"user_id {user_id!r} contains whitespace"
    if len(user_id) > MAX_USER_ID_LENGTH:
        return f"user_id is longer than {MAX_USER_ID_LENGTH} characters"
    return None


def email_problem(email: str) -> str | None:
    """Why `email` is not a plausible e-mail address, or None if it is (or is empty)."""
    if not email:
        return None
    local, at, domain = email.partition("@")
    if (not at or not local or not domain or "@" in domain or has_control_characters(email)
            or any(c.isspace() for c in email)):
        return f"email {email!r} is not an e-mail address"
    return None
