"""`sync plan`, `sync apply` and `sync run`: what a pass would do, one pass, passes forever.

Exit codes of `sync apply` (`sync plan` exits 0, or 1 when it cannot plan, 2 for a configuration
error; a plan that would be held says so, but is no failure):

- 0: every user done;
- 1: some users ended in Error, the source had unreadable entries, the pass stopped early, or it
  could not run at all;
- 2: the configuration is wrong;
- 3: held: the pass would have deactivated more users than sync.max_deactivations allows
  (nobody was deactivated), or removed more of an object family than its limit (none of that
  family was removed); everything else was done.

With ``--json`` the command prints one JSON document whatever happens, a failed pass included
(`idp.sync.report`).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from types import FrameType
from typing import Any

import click

from idp.commands.context import CliContext, echo_json, pass_cli
from idp.commands.sync.output import (
    json_on_failure,
    outcome_line,
    plan_json,
    print_attention,
    print_plan,
)
from idp.errors import GenesysError, SyncError
from idp.sync.apply import Outcome
from idp.sync.engine import SyncService
from idp.sync.objects.engine import ALLOWANCES
from idp.sync.plan import Plan
from idp.sync.presence.runner import PresenceRunner
from idp.sync.report import EXIT_CODES, PassReport

log = logging.getLogger("idp.sync")

USER_OPTION = click.option(
    "--user", "only", metavar="CIC_USER_ID", default=None,
    help="Only this CIC user: provision (or update, or remove) it on demand.")


@click.command("plan")
@click.option("--full", is_flag=True,
              help="Compare every user with a full listing of Genesys Cloud, which also finds "
                   "changes made there (default: only what changed in CIC).")
@click.option("--force", is_flag=True, help="Plan a Force Complete Sync.")
@USER_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def plan_(cli: CliContext, /, full: bool, force: bool, only: str | None,
          as_json: bool) -> None:
    """Show what `sync apply` would do, writing nothing."""
    with json_on_failure(as_json):
        service = SyncService(cli.config())
        try:
            plan = service.plan(full=full, force=force, only=only)
        finally:
            service.close()
    if as_json:
        echo_json(plan_json(plan))
    else:
        print_plan(plan)


@click.command("apply")
@click.option("--force", is_flag=True,
              help="Force Complete Sync: send every user, even when it is up to date.")
@click.option("--full", is_flag=True,
              help="Compare every user with a full listing of Genesys Cloud and correct what "
                   "was changed there.")
@USER_OPTION
@click.option("--allow-deactivations", type=click.IntRange(0), default=None, metavar="N",
              help="Allow this pass up to N user deactivations (or deletions), above "
                   "sync.max_deactivations, after checking that they are meant.")
@click.option("--allow-deletions", "allow_deletions", multiple=True, metavar="FAMILY=N",
              callback=lambda ctx, param, value: parse_allowances(value),
              help="Allow this pass up to N removals of one object family, above its limit "
                   f"(sync.platform_objects): {', '.join(ALLOWANCES.values())}. Repeatable; "
                   "allows nothing else.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_cli
def apply_(cli: CliContext, /, force: bool, full: bool, only: str | None,
           allow_deactivations: int | None, allow_deletions: dict[str, int],
           as_json: bool) -> None:
    """Carry out one pass: create, update and deactivate Genesys Cloud users.

    Exit code 0 when every user is done; 1 when some ended in Error, the source had unreadable
    entries or the pass stopped early; 3 when it was held because it would have deactivated
    more users than sync.max_deactivations.
    """
    with json_on_failure(as_json):
        service = SyncService(cli.config())
        try:
            with stop_on_signals() as stop:
                report = one_pass(service, quiet=as_json, show_plan=only is not None,
                                  force=force, full=full, only=only, stop=stop,
                                  allow_deactivations=allow_deactivations,
                                  allow_deletions=allow_deletions or None)
        finally:
            service.close()
    if as_json:
        echo_json(report.to_json())
    else:
        report_pass(report)
    click.get_current_context().exit(EXIT_CODES[report.outcome])


@click.command("run")
@click.option("--interval", type=click.IntRange(1), default=None,
              help="Seconds between passes (default: sync.interval, 60).")
@click.option("--passes", type=click.IntRange(0), default=0,
              help="Stop after this many passes (default 0: until stopped).")
@pass_cli
def run(cli: CliContext, /, interval: int | None, passes: int) -> None:
    """Keep syncing: a pass, then a pause, until SIGTERM or Ctrl-C.

    Each pass sends only what changed in CIC since the last one; the first pass, and one every
    sync.full_interval seconds, compares with a full listing of Genesys Cloud instead, which also
    undoes changes made there. A pass that fails (Genesys Cloud unreachable, say) is logged and
    the next one tries again. A held pass is logged as an error on every pass until an
    administrator runs `sync apply --allow-deactivations N` or the source is corrected.
    With sync.presence, agent statuses are synced to presences all along, in a thread of
    their own.
    """
    config = cli.config()
    pause = interval or config.sync.interval
    service = SyncService(config)
    with stop_on_signals() as stop:
        presence_stop = threading.Event()
        # Built here, so that a configuration it cannot take stops `sync run` at once.
        presence = PresenceRunner(service.presence(), service.presence, presence_stop,
                                  service.state.add_event) if config.sync.presence else None
        thread = presence.start() if presence else None
        try:
            _run_passes(service, stop, pause, passes, config.sync.full_interval,
                        after_pass=presence.refresh_now if presence else None)
        finally:
            presence_stop.set()
            if thread is not None:
                thread.join(timeout=30)
            service.close()


def parse_allowances(values: tuple[str, ...]) -> dict[str, int]:
    """`--allow-deletions` values (``queues=25``) as allowance name -> N."""
    found = {}
    for value in values:
        name, equals, count = value.partition("=")
        name = name.strip().replace("-", "_")
        if not equals or name not in ALLOWANCES.values() or not count.strip().isdigit():
            raise click.BadParameter(
                f"{value!r}: expected FAMILY=N, FAMILY one of "
                f"{', '.join(ALLOWANCES.values())}", param_hint="--allow-deletions")
        found[name] = int(count)
    return found


def _run_passes(service: SyncService, stop: threading.Event, pause: int, passes: int,
                full_interval: int, after_pass: Callable[[], None] | None = None) -> None:
    done = 0
    last_full: float | None = None
    while not stop.is_set():
        started = time.monotonic()
        full = full_interval > 0 and (last_full is None or started - last_full >= full_interval)
        try:
            report = service.apply(stop=stop, full=full)
        except (GenesysError, SyncError) as exc:
            log.error("sync pass failed: %s", exc)
        else:
            log.info("sync pass: %s%s", "full comparison; " if full else "", report.summary())
            if report.plan.held is not None:
                log.error("sync pass held: %s", report.plan.held.message())
            if full and not report.error:
                last_full = started
        done += 1
        if after_pass is not None:  # new users get their presences at once
            after_pass()
        if passes and done >= passes:
            return
        stop.wait(pause)


# -- one pass on a terminal --------------------------------------------------------------------


def one_pass(service: SyncService, *, quiet: bool, show_plan: bool = False,
             check_plan: Callable[[Plan], None] | None = None,
             **pass_options: Any) -> PassReport:
    """`service.apply(**pass_options)` with its progress shown: a bar on a terminal (log lines
    printed above it), else a line per user; with `show_plan`, the plan first. `check_plan`
    may refuse the plan (raising) before anything is done."""
    lock = threading.RLock()  # one writer to the terminal at a time: the bar or a log line
    bar: Any = None
    interactive = sys.stdout.isatty() and not quiet

    def on_plan(plan: Plan) -> None:
        nonlocal bar
        if show_plan and not quiet:
            print_plan(plan)
        if check_plan is not None:
            check_plan(plan)
        work = len(plan.actions)
        if interactive and work:
            bar = click.progressbar(length=work, label="Syncing users", show_pos=True)
            bar.__enter__()

    def on_outcome(outcome: Outcome) -> None:
        with lock:
            if bar is not None:
                bar.update(1)
            elif not quiet:
                click.echo(outcome_line(outcome))

    with _logs_above(lambda: bar, lock) if interactive else nullcontext():
        try:
            report = service.apply(on_plan=on_plan, on_outcome=on_outcome, **pass_options)
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
    if interactive:
        print_attention(report.attention())
    return report


def report_pass(report: PassReport) -> None:
    for problem in report.plan.source_problems:
        click.echo(problem, err=True)
    for note in report.plan.notes:
        click.echo(f"note: {note}", err=True)
    if report.plan.held is not None:
        click.echo(f"held: {report.plan.held.message()}", err=True)
    objects = report.objects
    if objects is not None:
        for problem in objects.problems:
            click.echo(f"objects source: {problem}", err=True)
        for note in objects.notes:
            click.echo(f"note: {note}", err=True)
        for action in objects.actions:
            if action.result == "error" or action.verb == "conflict":
                click.echo(f"{action.result if action.result == 'error' else 'conflict'}: "
                           f"{action.line()}", err=True)
        for held in objects.held:
            click.echo(f"held: {held.message()}", err=True)
    click.echo(report.summary())


class _AboveTheBar(logging.Handler):
    """Writes log records above a progress bar: clear its line, write, draw it again, holding
    the lock the bar is updated under (records come from the workers' threads)."""

    def __init__(self, bar: Callable[[], Any], lock: threading.RLock,
                 formatter: logging.Formatter | None) -> None:
        super().__init__()
        self._bar = bar
        self._drawing = lock
        self.setFormatter(formatter or logging.Formatter())

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        with self._drawing:
            bar = self._bar()
            if bar is not None:
                click.echo("\r\x1b[K", nl=False)
            click.echo(text, err=True)
            if bar is not None:
                bar.render_progress()


@contextmanager
def _logs_above(bar: Callable[[], Any], lock: threading.RLock) -> Iterator[None]:
    """While a pass runs, route the root logger's lines above the progress bar."""
    root = logging.getLogger()
    previous = root.handlers[:]
    formatter = previous[0].formatter if previous else None
    root.handlers = [_AboveTheBar(bar, lock, formatter)]
    try:
        yield
    finally:
        root.handlers = previous


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM and Ctrl-C finish the users in flight, then stop (a second one at once)."""
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning("stopping after the users in flight (signal %d)", signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
