"""The password policy of the local directory (`[directory]` password_* settings).

Checked where a password is set (`users add`, `users set-password`, `users import`), never at
logon: a stored password keeps working until it is changed. The rules follow NIST SP 800-63B:
a minimum length, no password equal to the user ID, none from a list of common ones; no
composition rules and no expiry.
"""

from __future__ import annotations

from idp.config import DirectorySettings

#: Passwords seen first in every breach list, plus the names of what this system is. The
#: check is case-insensitive and ignores a trailing run of digits and punctuation
#: ("Password1!", "Welcome2026" are refused).
COMMON = frozenset({
    "password", "passwort", "motdepasse", "contraseña", "123456", "12345678", "123456789",
    "1234567890", "qwerty", "qwertz", "azerty", "abc123", "letmein", "welcome", "changeme",
    "iloveyou", "admin", "administrator", "monkey", "dragon", "football", "sunshine", "secret",
    "pureconnect", "genesys", "interactive", "cic", "summer", "winter", "spring", "autumn",
})


def password_problem(password: str, user_id: str, settings: DirectorySettings) -> str | None:
    """Why the policy refuses `password` for `user_id`, or None."""
    if len(password) < settings.password_min_length:
        return (f"the password is shorter than directory.password_min_length = "
                f"{settings.password_min_length} characters")
    folded = password.casefold()
    if folded == user_id.casefold():
        return "the password must not be the user ID"
    stem = folded.rstrip("0123456789!?.#*@$%&+-_ ")
    denied = COMMON | {word.casefold() for word in settings.password_denied}
    if folded in denied or stem in denied:
        return "the password is one of the most common ones (or one of directory.password_denied)"
    return None
