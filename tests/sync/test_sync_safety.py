"""No mass deprovisioning by accident: the three ordinary mistakes that each deactivated most of
an organization (a CSV export cut short, a CIC answering short pages, a second installation),
end to end against the Genesys stand-in, through the command an administrator runs."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result

from tests.icws_server import CicDirectory, IcwsPair, IcwsUser, running_pair, use_icws
from tests.sync.conftest import CHEAP_HASHER, SyncSetup
from tests.sync.fake_genesys import FakeGenesys

SERVICE = ("svc-sync", "service-secret-2")


def write_csv(path: Path, user_ids: list[str], row_count: bool = False) -> None:
    lines = ["user_id,display_name,email"]
    lines += [f"{u},User {u},{u}@example.com" for u in user_ids]
    if row_count:
        lines.append(f"#rows={len(user_ids)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def active(genesys: FakeGenesys) -> set[str]:
    return {u["userName"].split("@")[0] for u in genesys.users(active=True)}


def held_line(result: Result, removals: int, linked: int, limit: str, *,
              verb: str = "deactivated", full: bool = False) -> None:
    """The one clear line: how many, of how many, which limit, and the override (with --full
    when only a listing of Genesys Cloud sees those removals)."""
    assert result.exit_code == 3, result.output
    override = f"cic-sts sync apply {'--full ' if full else ''}--allow-deactivations {removals}"
    assert (f"held: {removals} of {linked} linked users would be {verb}, more than "
            f"{limit}; check the source, then run `{override}`") in result.output, result.output


def assert_status(setup: SyncSetup, code: int, *fragments: str) -> dict[str, object]:
    text = setup.run("sync", "status")
    assert text.exit_code == code, text.output
    for fragment in fragments:
        assert fragment in text.output, text.output
    shown = setup.run("sync", "status", "--json")
    assert shown.exit_code == code
    data: dict[str, object] = json.loads(shown.output)
    return data


def test_a_csv_export_cut_at_a_line_boundary_deactivates_nobody(setup: SyncSetup) -> None:
    users = [f"u{i:03}" for i in range(100)]
    csv = setup.folder / "users.csv"
    setup.configure(sync='source = "csv"\ncsv_file = "users.csv"')
    write_csv(csv, users)
    assert setup.run("sync", "apply").exit_code == 0
    assert len(active(setup.genesys)) == 100

    write_csv(csv, users[:10])  # `head`, or an export interrupted between two lines
    result = setup.run("sync", "apply")
    held_line(result, 90, 100, "sync.max_deactivations = 10")
    assert len(active(setup.genesys)) == 100
    data = assert_status(setup, 2, "Deactivations HELD: 90 of 100 linked users",
                         "Status: CRITICAL")
    assert data["held"] == {"removals": 90, "linked": 100, "limit": 10,
                            "by": "max_deactivations", "verb": "deactivated", "percent": 0,
                            "listed": False}

    # An override below what the pass would do is refused too, and says so.
    fewer = setup.run("sync", "apply", "--allow-deactivations", "50")
    assert fewer.exit_code == 3 and "more than the 50 allowed by --allow-deactivations" in \
        fewer.output
    assert len(active(setup.genesys)) == 100

    # The administrator checked: these 90 really left. Exactly they go.
    done = setup.run("sync", "apply", "--allow-deactivations", "90")
    assert done.exit_code == 0, done.output
    assert active(setup.genesys) == set(users[:10])
    assert_status(setup, 0, "Status: OK")
    assert "Deactivations" not in setup.run("sync", "status").output


def test_a_cut_export_with_a_row_count_is_refused_as_incomplete(setup: SyncSetup) -> None:
    users = [f"u{i:02}" for i in range(30)]
    csv = setup.folder / "users.csv"
    setup.configure(sync='source = "csv"\ncsv_file = "users.csv"\ncsv_require_row_count = true')
    write_csv(csv, users, row_count=True)
    assert setup.run("sync", "apply").exit_code == 0

    text = csv.read_text().splitlines()
    csv.write_text("\n".join(text[:6]) + "\n")  # header and five rows, no #rows line
    result = setup.run("sync", "apply")
    assert result.exit_code == 1
    assert "no final #rows=N line" in result.output
    assert len(active(setup.genesys)) == 30

    csv.write_text("\n".join([*text[:6], "#rows=30"]) + "\n")  # a count that does not match
    result = setup.run("sync", "apply", "--allow-deactivations", "100")
    assert result.exit_code == 1
    assert "#rows=30, but the file has 5 user rows: it was cut short" in result.output
    assert len(active(setup.genesys)) == 30  # an override never acts on an incomplete source


# -- CIC over ICWS -----------------------------------------------------------------------------


def icws_setup(setup: SyncSetup, pair: IcwsPair, key_dir: Path) -> None:
    setup.configure(sync='source = "icws"')
    use_icws(setup.config_path, pair, key_dir / "tls.crt", SERVICE, timeout=2)


def agents(n: int) -> list[IcwsUser]:
    return [IcwsUser(f"agent{i:03}", "pw", None, f"agent{i:03}@example.com") for i in range(n)]


def test_short_icws_pages_and_a_changing_list_are_read_completely_or_not_at_all(
        setup: SyncSetup, key_dir: Path) -> None:
    cic = CicDirectory()
    cic.add(IcwsUser(*SERVICE), *agents(45))
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        icws_setup(setup, pair, key_dir)
        pair.primary.page_cap = 15  # a CIC that caps pages far below the 200 asked for
        pair.primary.empty_pages = {15: 1}  # and answers one of them empty once
        first = setup.run("sync", "apply")
        assert first.exit_code == 0, first.output
        assert len(active(setup.genesys)) == 45

        pair.primary.page_cap = 10
        again = setup.run("sync", "apply", "--full", "--json")
        assert again.exit_code == 0
        assert json.loads(again.output)["results"]["deactivated"] == 0

        # A page that stays empty while Content-Range says 46 users: the read fails.
        pair.primary.empty_pages = {20: 99}
        failed = setup.run("sync", "apply", "--json")
        assert failed.exit_code == 1
        document = json.loads(failed.output)
        assert document["outcome"] == "failed" and document["schema"] == 1
        assert "an empty page at item 20 of 46" in document["error"]["message"]
        assert len(active(setup.genesys)) == 45
        assert_status(setup, 2, "Status: CRITICAL", "the last pass failed")

        # Users added while the list is read: read again; on every read: the pass fails.
        pair.primary.empty_pages = {}
        added = iter(range(1000, 2000))

        def add_one(first_index: int) -> None:
            if first_index == 20:
                number = next(added)
                cic.add(IcwsUser(f"new{number}", "pw", None, f"new{number}@example.com"))

        pair.primary.before_page = add_one
        changing = setup.run("sync", "apply")
        assert changing.exit_code == 1 and "changed while it was read" in changing.output
        assert len(active(setup.genesys)) == 45

        reads = [0]

        def add_on_first_read(first_index: int) -> None:
            if first_index == 0:
                reads[0] += 1
            if reads[0] == 1:
                add_one(first_index)

        pair.primary.before_page = add_on_first_read
        settled = setup.run("sync", "apply")
        assert settled.exit_code == 0, settled.output
        # the users added while the list was read: three during the failed pass, one now
        assert len(active(setup.genesys)) == 49


def test_a_cic_that_lists_fewer_users_is_held(setup: SyncSetup, key_dir: Path) -> None:
    """The last line of defence: a list read completely that really is short (a service account
    that lost rights to some users, a where clause) cannot deactivate them in bulk."""
    cic = CicDirectory()
    cic.add(IcwsUser(*SERVICE), *agents(45))
    with running_pair(cic, tls=(key_dir / "tls.crt", key_dir / "tls.key")) as pair:
        icws_setup(setup, pair, key_dir)
        assert setup.run("sync", "apply").exit_code == 0
        kept = {f"agent{i:03}" for i in range(15)}
        for user_id in list(cic.users):
            if user_id.startswith("agent") and user_id not in kept:
                del cic.users[user_id]
        held_line(setup.run("sync", "apply"), 30, 45, "sync.max_deactivations = 10")
        assert len(active(setup.genesys)) == 45
        done = setup.run("sync", "apply", "--allow-deactivations", "30")
        assert done.exit_code == 0, done.output
        assert active(setup.genesys) == kept


# -- two installations on one organization -----------------------------------------------------


def second_installation(setup: SyncSetup, authority: str) -> SyncSetup:
    from idp.auth.local import LocalDirectory

    folder = setup.folder / "site-b"
    folder.mkdir()
    other = SyncSetup(folder, setup.genesys, LocalDirectory(folder / "users.db",
                                                           hasher=CHEAP_HASHER))
    other.configure(sync=f'authority = "{authority}"')
    return other


def test_two_installations_never_deactivate_each_others_users(setup: SyncSetup) -> None:
    setup.configure(sync='authority = "cic-sts/aaaa1111"')
    site_b = second_installation(setup, "cic-sts/bbbb2222")
    for i in range(20):
        setup.add(f"a{i:02}", f"a{i:02}@example.com")
    for i in range(15):
        site_b.add(f"b{i:02}", f"b{i:02}@example.com")
    site_b.add("dup", "a00@example.com")  # a user both sites have

    for _ in range(3):  # several full passes each, in turn
        for site in (setup, site_b):
            result = site.run("sync", "apply", "--full", "--json")
            report = json.loads(result.output)
            assert report["results"]["deactivated"] == 0, report
            assert result.exit_code == 0, result.output
    assert len(active(setup.genesys)) == 35
    dup = site_b.run("sync", "status", "dup")
    assert "Conflict" in dup.output
    assert "another cic-sts installation links (cic-sts/aaaa1111)" in dup.output
    plan = site_b.run("sync", "plan", "--full")
    assert ("20 Genesys Cloud users are linked by other cic-sts installations "
            "(cic-sts/aaaa1111: 20)") in plan.output

    # Site A's users leave: only A deactivates them, B still leaves them alone.
    for i in range(5):
        setup.directory.delete(f"a{i:02}")
    assert setup.run("sync", "apply").exit_code == 0
    assert len(active(setup.genesys)) == 30
    assert json.loads(site_b.run("sync", "apply", "--full", "--json").output)[
        "results"]["deactivated"] == 0


def test_two_installations_with_the_old_shared_authority_are_held(setup: SyncSetup) -> None:
    """Files written before init made a unique authority share "cic-sts": the second site's
    first pass sees the first site's users as its own removed ones. It is held."""
    site_b = second_installation(setup, "cic-sts")
    for i in range(20):
        setup.add(f"a{i:02}", f"a{i:02}@example.com")
    site_b.add("b00", "b00@example.com")
    assert setup.run("sync", "apply").exit_code == 0
    result = site_b.run("sync", "apply", "--full")
    held_line(result, 20, 20, "sync.max_deactivations = 10", full=True)
    assert len(active(setup.genesys)) == 21  # b00 was created, nobody deactivated
    # Only a listing sees those users: a pass that does not list neither clears the hold...
    assert site_b.run("sync", "apply").exit_code == 0
    assert_status(site_b, 2, "Deactivations HELD: 20 of 20 linked users")
    # ...nor could an allowance without one act on it: it lists by itself.
    done = site_b.run("sync", "apply", "--allow-deactivations", "20")
    assert done.exit_code == 0, done.output
    assert active(setup.genesys) == {"b00"}  # what sharing an authority costs: the limit
    assert_status(site_b, 0, "Status: OK")  # held it until an administrator said so


def test_an_export_cut_inside_a_row_deactivates_nobody(setup: SyncSetup) -> None:
    """u10's row was cut before its e-mail: u10 looks like a user without one, but the file is
    incomplete (no #rows line), so nobody is deactivated on its strength."""
    users = [f"u{i:02}" for i in range(30)]
    csv = setup.folder / "users.csv"
    setup.configure(sync='source = "csv"\ncsv_file = "users.csv"\ncsv_require_row_count = true')
    write_csv(csv, users, row_count=True)
    assert setup.run("sync", "apply").exit_code == 0
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:11]) + "\nu10,User u10,")
    result = setup.run("sync", "apply", "--allow-deactivations", "100")
    assert result.exit_code == 1
    assert "no final #rows=N line" in result.output
    assert len(active(setup.genesys)) == 30


def test_the_percentage_limit_and_a_limit_on_deletions(setup: SyncSetup) -> None:
    setup.configure(sync="max_deactivations_percent = 5\ndelete_instead_of_deactivate = true")
    for i in range(40):
        setup.add(f"u{i:02}", f"u{i:02}@example.com")
    setup.apply()
    for i in range(3):  # 3 of 40 is more than 5 % (2), fewer than 10
        setup.directory.delete(f"u{i:02}")
    held_line(setup.run("sync", "apply"), 3, 40,
              "sync.max_deactivations_percent = 5 % (2)", verb="deleted")
    assert len(setup.genesys.users()) == 40
    assert setup.run("sync", "apply", "--allow-deactivations", "3").exit_code == 0
    assert len(setup.genesys.users()) == 37


def test_a_scope_rule_typed_wrong_is_held(setup: SyncSetup) -> None:
    for i in range(20):
        setup.add(f"agent{i:02}", f"agent{i:02}@example.com")
    setup.apply()
    setup.configure(sync='include = ["agnet*"]')  # the typo leaves everyone out of scope
    held_line(setup.run("sync", "apply"), 20, 20, "sync.max_deactivations = 10")
    assert len(active(setup.genesys)) == 20
