"""Reading CIC user CSV exports (idp.auth.csvfile) and the `cic-sts users` commands."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner, Result

from idp.auth.csvfile import CSV_COLUMNS, read_users_csv
from idp.auth.local import LocalDirectory
from idp.cli import cli
from idp.errors import DirectoryError
from idp.users import PHONE_FIELDS, CicUser


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def write(tmp_path: Path, text: str, name: str = "users.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


GOOD = (
    "user_id,display_name,email,business_phone,business2_phone,mobile_phone,home_phone,"
    "fax_phone,password\n"
    "jsmith,John Smith,john.smith@example.com,+1 317 555 0100,,+1 317 555 0199,,,s3cret pw\n"
    'adoe,"Doe, Anna",anna.doe@example.com,,,,,+1 317 555 0150,\n'
)


# -- the column list ---------------------------------------------------------------------------


def test_column_list() -> None:
    names = [c.name for c in CSV_COLUMNS]
    assert names == ["user_id", "display_name", "email",
                     *(f"{p}_phone" for p in PHONE_FIELDS), "workgroups", "password"]
    assert [c.name for c in CSV_COLUMNS if c.required] == ["user_id"]
    assert all(c.help for c in CSV_COLUMNS)


def test_every_documented_column_is_accepted(tmp_path: Path) -> None:
    header = ",".join(c.name.upper() for c in reversed(CSV_COLUMNS))
    values = ",".join("x@example.com" if c.name == "email" else "u1" if c.name == "user_id"
                      else "v" for c in reversed(CSV_COLUMNS))
    result = read_users_csv(write(tmp_path, f"{header}\n{values}\n"))
    assert result.errors == []
    [(line, user, password)] = result.rows
    assert (line, user.user_id, user.email, password) == (2, "u1", "x@example.com", "v")
    assert user.phones == dict.fromkeys(PHONE_FIELDS, "v")


# -- reading -----------------------------------------------------------------------------------


def test_good_file(tmp_path: Path) -> None:
    result = read_users_csv(write(tmp_path, GOOD))
    assert result.errors == []
    assert result.rows == [
        (2, CicUser("jsmith", "John Smith", "john.smith@example.com",
                    {"business": "+1 317 555 0100", "mobile": "+1 317 555 0199"}), "s3cret pw"),
        (3, CicUser("adoe", "Doe, Anna", "anna.doe@example.com", {"fax": "+1 317 555 0150"}),
         None),
    ]


def test_bom_crlf_case_and_order(tmp_path: Path) -> None:
    text = "Email,USER_ID , Display_Name\r\n jsmith@example.com , jsmith ,Jöhn Smïth\r\n"
    result = read_users_csv(write(tmp_path, text, encoding="utf-8-sig"))
    assert result.errors == []
    assert result.rows == [(2, CicUser("jsmith", "Jöhn Smïth", "jsmith@example.com"), None)]


def test_malformed_rows_are_reported_and_good_rows_kept(tmp_path: Path) -> None:
    text = (
        "user_id,display_name,email,password\n"      # 1
        "good1,Good One,good1@example.com,pw1\n"     # 2
        ",No Id,noid@example.com,\n"                 # 3 missing user_id
        "john smith,John,john@example.com,\n"        # 4 whitespace in user_id
        f"{'x' * 129},Long,long@example.com,\n"      # 5 too long
        "bademail,Bad,not-an-address,\n"             # 6
        "twoats,Two,a@b@example.com,\n"              # 7
        "spacey,Spacey,sp acey@example.com,\n"       # 8
        "\n"                                         # 9 blank: ignored
        "short,Too Few\n"                            # 10
        "long,a,b@example.com,c,d\n"                 # 11 too many fields
        'multi,"Two\n'                               # 12 a quoted newline...
        'Lines",multi@example.com,\n'                # 13 ...in the display name
        "GOOD1,Again,again@example.com,\n"           # 14 duplicate (case-insensitive)
        ",,,\n"                                      # 15 only commas: ignored
        "good2,Good Two,,\n"                         # 16 email is optional
    )
    result = read_users_csv(write(tmp_path, text))
    assert [(line, user.user_id, pw) for line, user, pw in result.rows] == [
        (2, "good1", "pw1"), (16, "good2", None)]
    errors = {e.line: e.message for e in result.errors}
    assert sorted(errors) == [3, 4, 5, 6, 7, 8, 10, 11, 12, 14]
    assert errors[3] == "user_id is missing"
    assert "whitespace" in errors[4]
    assert "128" in errors[5]
    assert "not-an-address" in errors[6] and "e-mail" in errors[6]
    assert "a@b@example.com" in errors[7]
    assert "sp acey@example.com" in errors[8]
    assert errors[10] == "expected 4 fields, found 2"
    assert errors[11] == "expected 4 fields, found 5"
    assert "display_name contains control characters" in errors[12]
    assert errors[14] == "duplicate user_id 'GOOD1' (first on line 2)"
    assert str(result.errors[0]) == "line 3: user_id is missing"


def test_duplicate_second_one_is_the_error(tmp_path: Path) -> None:
    text = "user_id,email\nadoe,first@example.com\nbdoe,\nADoe,second@example.com\n"
    result = read_users_csv(write(tmp_path, text))
    assert [(line, u.email) for line, u, _ in result.rows] == [(2, "first@example.com"),
                                                              (3, "")]
    assert [(e.line, e.message) for e in result.errors] == [
        (4, "duplicate user_id 'ADoe' (first on line 2)")]


def test_unknown_column(tmp_path: Path) -> None:
    path = write(tmp_path, "user_id,e_mail,display_name\njsmith,j@example.com,John\n")
    with pytest.raises(DirectoryError) as info:
        read_users_csv(path)
    message = str(info.value)
    assert "unknown column 'e_mail'" in message
    assert all(c.name in message for c in CSV_COLUMNS)


def test_semicolon_separated_file_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="comma-separated"):
        read_users_csv(write(tmp_path, "user_id;email\njsmith;j@example.com\n"))


@pytest.mark.parametrize(("text", "match"), [
    ("", "empty file"),
    ("\n\n", "empty file"),
    ("display_name,email\nJohn,j@example.com\n", "no user_id column"),
    ("user_id,email,USER_ID\n", "appears twice"),
])
def test_bad_header(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(DirectoryError, match=match):
        read_users_csv(write(tmp_path, text))


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="cannot read .*missing.csv"):
        read_users_csv(tmp_path / "missing.csv")
    with pytest.raises(DirectoryError, match="UTF-8"):
        read_users_csv(write(tmp_path, "user_id,display_name\nmuller,Müller\n",
                             encoding="cp1252"))


# -- the users commands ------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("idp.auth.local.PasswordHasher", cheap_hasher)  # fast tests
    path = tmp_path / "cic-sts.toml"
    # Short passwords keep these tests readable; the policy has its own (tests/test_admin.py).
    path.write_text('[server]\nmachine_names = ["sts.example.com"]\n\n'
                    '[directory]\ndatabase = "users.db"\npassword_min_length = 1\n',
                    encoding="utf-8")
    return path


def run(config_file: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config_file), "users", *args], input=input)


def listed(config_file: Path) -> dict[str, Any]:
    result = run(config_file, "list", "--json")
    assert result.exit_code == 0, result.output
    return {u["user_id"]: u for u in json.loads(result.stdout)}


def test_cli_import(config_file: Path, tmp_path: Path) -> None:
    result = run(config_file, "import", str(write(tmp_path, GOOD)))
    assert result.exit_code == 0, result.output
    assert result.stdout == "imported 2 users, skipped 0 rows\n"
    assert result.stderr == ""
    assert "s3cret" not in result.output
    users = listed(config_file)
    assert users["jsmith"]["password_set"] and not users["adoe"]["password_set"]
    assert users["adoe"]["display_name"] == "Doe, Anna"
    assert users["jsmith"]["phones"] == {"business": "+1 317 555 0100",
                                         "mobile": "+1 317 555 0199"}
    directory = LocalDirectory(tmp_path / "users.db", hasher=cheap_hasher())
    assert directory.authenticate("JSMITH", "s3cret pw").email == "john.smith@example.com"


def test_cli_import_with_bad_rows(config_file: Path, tmp_path: Path) -> None:
    text = "user_id,email\ngood,good@example.com\nbad user,x@example.com\ngood2,nope\nok,\n"
    result = run(config_file, "import", str(write(tmp_path, text)))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "line 3: user_id 'bad user' contains whitespace",
        "line 4: email 'nope' is not an e-mail address",
    ]
    assert result.stdout == "imported 2 users, skipped 2 rows\n"
    assert sorted(listed(config_file)) == ["good", "ok"]


def test_cli_import_updates_and_keeps_passwords(config_file: Path, tmp_path: Path) -> None:
    assert run(config_file, "import", str(write(tmp_path, GOOD))).exit_code == 0
    update = write(tmp_path, "user_id,display_name\nJSmith,Johnny\n", name="update.csv")
    assert run(config_file, "import", str(update)).exit_code == 0
    user = listed(config_file)["JSmith"]
    assert (user["display_name"], user["email"], user["password_set"]) == ("Johnny", "", True)


def test_cli_import_file_errors(config_file: Path, tmp_path: Path) -> None:
    result = run(config_file, "import", str(write(tmp_path, "user_id,nickname\njs,J\n")))
    assert result.exit_code == 1
    assert "unknown column 'nickname'" in result.stderr
    assert "Traceback" not in result.output
    result = run(config_file, "import", str(tmp_path / "missing.csv"))
    assert result.exit_code == 1
    assert "cannot read" in result.stderr
    assert listed(config_file) == {}


def test_cli_add_list_set_password_remove(config_file: Path, tmp_path: Path) -> None:
    result = run(config_file, "add", "jdoe", "--display-name", "Jane Doe",
                 "--email", "jane@example.com", "--mobile-phone", "+1 555 0100")
    assert result.exit_code == 0, result.output
    assert "without a password" in result.stdout  # stdin is not a terminal: no prompt
    user = listed(config_file)["jdoe"]
    assert user["password_set"] is False
    assert user["phones"] == {"mobile": "+1 555 0100"}

    result = run(config_file, "add", "JDOE")
    assert result.exit_code == 1 and "already exists" in result.stderr

    result = run(config_file, "set-password", "jdoe", "--password-stdin", input="n3w pass\n")
    assert result.exit_code == 0, result.output
    assert "n3w" not in result.output
    assert listed(config_file)["jdoe"]["password_set"] is True
    directory = LocalDirectory(tmp_path / "users.db", hasher=cheap_hasher())
    assert directory.authenticate("jdoe", "n3w pass").display_name == "Jane Doe"

    result = run(config_file, "add", "script", "--password-stdin", input="from stdin\n")
    assert result.exit_code == 0, result.output
    result = run(config_file, "add", "demo", "--password", "demo-pw")
    assert result.exit_code == 0, result.output
    assert directory.authenticate("SCRIPT", "from stdin").user_id == "script"
    assert directory.authenticate("demo", "demo-pw").user_id == "demo"

    table = run(config_file, "list")
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["USER", "ID", "DISPLAY", "NAME", "E-MAIL", "PASSWORD"]
    assert lines[2].split() == ["jdoe", "Jane", "Doe", "jane@example.com", "yes"]
    assert "pw" not in table.stdout and "$argon2" not in table.stdout

    result = run(config_file, "remove", "JDoe")
    assert result.exit_code == 0
    assert sorted(listed(config_file)) == ["demo", "script"]
    result = run(config_file, "remove", "jdoe")
    assert result.exit_code == 1 and "no user 'jdoe'" in result.stderr


def test_cli_password_errors(config_file: Path) -> None:
    result = run(config_file, "add", "u1", "--password", "a", "--password-stdin", input="b\n")
    assert result.exit_code == 2 and "not both" in result.stderr
    result = run(config_file, "add", "u1", "--password-stdin", input="\n")
    assert result.exit_code == 2 and "no password" in result.stderr
    result = run(config_file, "add", "bad id")
    assert result.exit_code == 1 and "whitespace" in result.stderr
    assert listed(config_file) == {}

    result = run(config_file, "set-password", "nobody", "--password-stdin", input="pw\n")
    assert result.exit_code == 1 and "no user 'nobody'" in result.stderr
    assert run(config_file, "add", "u1").exit_code == 0
    result = run(config_file, "set-password", "u1")  # no terminal to prompt on
    assert result.exit_code == 2 and "--password-stdin" in result.stderr
    assert listed(config_file)["u1"]["password_set"] is False


def test_cli_prompts_on_a_terminal(config_file: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # `idp.commands.users` as a dotted name is the click group, so patch the module itself.
    users_module = importlib.import_module("idp.commands.users")
    monkeypatch.setattr(users_module, "_stdin_is_tty", lambda: True)
    result = run(config_file, "add", "tty", input="typed pw\ntyped pw\n")
    assert result.exit_code == 0, result.output
    assert "Password" in result.output and "typed pw" not in result.output
    result = run(config_file, "set-password", "tty", input="other pw\nother pw\n")
    assert result.exit_code == 0, result.output
    assert "other pw" not in result.output
    directory = LocalDirectory(tmp_path / "users.db", hasher=cheap_hasher())
    assert directory.authenticate("tty", "other pw").user_id == "tty"
