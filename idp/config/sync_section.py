"""The `[sync]` section of the settings registry (the user sync, and the optional object and
presence syncs): the largest section, kept in a file of its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from idp.config.registry import setting


@dataclass(frozen=True)
class SyncSettings:
    source: str = setting(
        "directory", "Where the sync reads CIC users: directory (the local directory, "
        "directory.database), csv (sync.csv_file) or icws (CIC itself, [icws] with a service "
        "account).", choices=("directory", "csv", "icws"))
    csv_file: Path = setting(
        Path(), "CSV export of CIC users with the columns of `users import` (a password column "
        "is ignored; a workgroups column feeds scoping), for source = csv.")
    csv_require_row_count: bool = setting(
        False, "The CSV export must end with a #rows=N line (N: its user rows); without one "
        "the export counts as incomplete and nobody is deactivated. A #rows=N line that does "
        "not match is always refused.")
    state_database: Path = setting(
        Path("cic-sync.db"), "SQLite file of the sync's state: per user the linked Genesys "
        "Cloud user, its version and fields as last seen, status, message, Last Synchronized, "
        "history; the request counters and health items. Mode 0600. Losing it is safe (the "
        "links live in Genesys Cloud) but makes the next pass a full one.")
    rate_per_minute: int = setting(
        300, "Most requests per minute to Genesys Cloud: its documented limit per OAuth token. "
        "Requests are evenly spaced at 99 % of it.",
        min=1, max=1000000)
    concurrency: int = setting(4, "Requests in flight at once.", min=1, max=64)
    max_retries: int = setting(
        5, "Retries of one request after a 429, a 5xx or a network error, before it fails.",
        min=0, max=20)
    request_timeout: int = setting(30, "Seconds to wait for one Genesys Cloud answer.",
        min=1, max=600)
    page_size: int = setting(
        25, "Users per page when listing Genesys Cloud users. Genesys Cloud may answer bigger "
        "pages with 429 when lookup values such as externalId are asked for.", min=1, max=1000)
    default_country: str = setting(
        "", "Region (ISO 3166 code such as US or DE) of phone numbers written without a "
        "country code; empty: such numbers are reported and left out.")
    authority: str = setting(
        "cic-sts", "Authority of the externalIds entry that links a Genesys Cloud user to its "
        "CIC user ID. Unique per installation: `init` writes cic-sts/<random>. Files without "
        "one use cic-sts. Links under other cic-sts/... authorities belong to other "
        "installations and are never changed or deactivated.")
    include: list[str] = setting(
        [], "If not empty, only CIC users matching one of these are synced: a user ID pattern "
        "(shell-style, * and ?, without letter case) or workgroup:NAME (a pattern too; needs "
        "source csv or icws).")
    exclude: list[str] = setting(
        [], "CIC users matching one of these (same forms as include) are not synced, for "
        "service accounts and lab users. Users that leave the scope are deactivated like "
        "removed users.")
    deactivate_missing: bool = setting(
        True, "Deactivate the Genesys Cloud user of a CIC user that was deleted, lost its "
        "business e-mail or left the scope.")
    delete_instead_of_deactivate: bool = setting(
        False, "Delete such Genesys Cloud users instead of deactivating them (needs "
        "directory:user:delete; a deleted user keeps its e-mail in Genesys Cloud).")
    max_deactivations: int = setting(
        10, "Most Genesys Cloud users one pass may deactivate (or delete). A pass that would "
        "do more deactivates nobody, does everything else, exits non-zero and is shown as "
        "held until `sync apply --allow-deactivations N` or a corrected source.")
    max_deactivations_percent: int = setting(
        0, "If not 0, also the most one pass may deactivate, as a percentage of the linked "
        "active users; the stricter of the two limits applies.", min=0, max=100)
    adopt_existing: bool = setting(
        False, "Take over Genesys Cloud users the sync did not create when their e-mail is a "
        "CIC user's business e-mail (otherwise: reported as a conflict, left alone; see also "
        "`sync adopt`).")
    max_display_name_length: int = setting(
        255, "Longest display name sent; a longer one is reported on the user and not sent. "
        "Genesys Cloud's own limit is not published (unconfirmed).", min=1, max=10000)
    history_days: int = setting(
        90, "Days the per-user history (`sync status USER_ID --history`) is kept.", min=1, max=3650)
    metrics_textfile: Path | None = setting(
        None, "If set, a node_exporter textfile the sync rewrites after each pass (users by "
        "state, requests, 429 waits, last pass and its outcome, held removals), e.g. "
        "/var/lib/prometheus/node-exporter/cic-sts-sync.prom.")
    platform_objects: bool = setting(
        False, "Also sync Advanced Platform Objects: workgroups to queues (with members), "
        "skills to routing skills or languages (users' direct and inherited skills), wrap-up "
        "codes (and their queues). See docs/sync-objects.md.")
    objects_dir: Path = setting(
        Path(), "Folder of the object CSV files (workgroups.csv, skills.csv, "
        "wrapup_codes.csv, user_skills.csv) for sync.source = directory or csv.")
    skill_stars: list[int] = setting(
        [20, 40, 60, 80], "How CIC's proficiency (1-100) becomes Genesys Cloud's rating: the "
        "highest proficiency of 1, 2, 3 and 4 stars (above the last: 5). The default is "
        "ceil(p / 20); CIC's own thresholds are not public.")
    max_removals: int = setting(
        100, "Most queue memberships, and apart from them most skill and language "
        "assignments, one object pass may take away (sync.platform_objects). A pass that would "
        "take more takes none of that kind, does everything else, exits 3 and is held until "
        "`sync apply --allow-deletions members=N` (or user_skills=N) or a corrected source.",
        min=0, max=1000000)
    presence: bool = setting(
        False, "Also sync CIC agent statuses to Genesys Cloud presences in near real time "
        "(`sync run`; needs [icws] with a service account).")
    presence_source: str = setting(
        "cic-sts", "Where presences are written: the name of a registered presence source "
        "(created if missing, made each synced user's primary source), or purecloud for "
        "Genesys Cloud's own source (one request per change).")
    presence_out_of_office: bool = setting(
        True, "Also set (and later clear) the out-of-office flag of agents whose status is "
        "On Vacation, Out of the Office or Out of Town (rules with out_of_office = true): one "
        "request per change, after the presence; needs the right to edit other users' out of "
        "office. false: presences only.")
    presence_rules: Path | None = setting(
        None, "TOML file of extra status-to-presence rules, tried before the built-in table "
        "(docs/sync-objects.md).")
    presence_batch_size: int = setting(
        50, "Most presences written in one bulk request (Genesys Cloud's own limit is not "
        "public).", min=1, max=1000)
    presence_poll_ms: int = setting(
        500, "Milliseconds between two reads of ICWS's message queue (a short poll).", min=50,
        max=60_000)
    presence_batch_delay_ms: int = setting(
        200, "Milliseconds a first pending presence waits for others to share its request.",
        min=0, max=10_000)
    interval: int = setting(60, "Seconds between two passes of `sync run`.", min=1, max=86400)
    full_interval: int = setting(
        86400, "Seconds between full passes of `sync run` (its first pass is one too), which "
        "compare with a full listing of Genesys Cloud and so also undo changes made there; "
        "0: never.")
