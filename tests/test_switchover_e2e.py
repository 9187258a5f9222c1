"""A switchover nobody notices (issue 15): the pair behind the generated proxies loses no request.

Two real STS servers (gunicorn over TLS) on 127.0.0.2 and 127.0.0.3 behind real nginx and real
HAProxy at once, each running the configuration `cic-sts proxy nginx|haproxy` generated, with a
steady mix through both: logged-on browsers sending AuthnRequests, password logons of distinct
users on new connections, metadata GETs (tests/switchover/). Then the events of the issue's
table, one at a time, to the first server, once with the cookie state backend and once with
Redis; each event's cost is read from the requests under way meanwhile, on the client's
monotonic clock. `make bench-switchover` prints the same figures as a table.

The stall bounds are loose on purpose (this machine is shared): what they rule out is a request
that waited for a proxy timeout it should not have met. A password logon takes a few hundred
milliseconds by itself here (the STS upgrades the test's cheap argon2 hash to its own on the
first logon of each user).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from idp.proxy.model import CONNECT_TIMEOUT, QUICK_TIMEOUT, Proxy
from tests.switchover import events
from tests.switchover.events import Cost, Window
from tests.switchover.pair import PROXIES, Pair, switchover_pair
from tests.switchover.traffic import Browser, Recorder, steady_traffic

pytestmark = pytest.mark.e2e

HANG = 6.0
#: No request met a timeout: nothing took longer than a slow answer on a busy machine.
CALM_GET, CALM_ANY = 1.5, 2.5
Running = tuple[Pair, Recorder]


@pytest.fixture(scope="module", params=["cookie", "redis"])
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            key_dir: Path) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp(f"switchover-{request.param}")
    with switchover_pair(folder, key_dir, request.param) as pair, \
            steady_traffic(pair) as recorder:
        time.sleep(2)  # every logged-on browser has logged on; connections are warm
        yield pair, recorder


def add_users(pair: Pair, user_ids: list[str]) -> None:
    from idp.config import load_config
    from tests.switchover.pair import seed_named

    seed_named(load_config(pair.config).directory.database, user_ids)


def costs(recorder: Recorder, window: Window) -> dict[Proxy, Cost]:
    time.sleep(events.SETTLE)
    found = {name: events.cost(recorder, window, name) for name in PROXIES}
    for cost in found.values():
        kinds = {o.kind for o in recorder.between(window.start, window.end)
                 if o.proxy == cost.proxy}
        # the mix ran through the event: logged-on browsers, logons (a logon page, or a POST
        # that waited all along), metadata
        assert {"authn", "metadata"} <= kinds, (cost.proxy, kinds)
        assert kinds & {"logon page", "logon POST"}, (cost.proxy, kinds)
    return found


def assert_unnoticed(found: dict[Proxy, Cost]) -> None:
    for cost in found.values():
        assert cost.failed == [], f"{cost.proxy}: {cost.failure_kinds()}: {cost.failed}"
        assert cost.worst_get < CALM_GET, cost
        assert cost.worst < CALM_ANY, cost


def test_a_graceful_stop_then_start_loses_nothing(running: Running) -> None:
    pair, recorder = running
    assert_unnoticed(costs(recorder, events.graceful_stop_then_start(pair)))


def test_a_rolling_restart_done_as_documented_loses_nothing(running: Running) -> None:
    """The second server is restarted as soon as the first answers /readyz."""
    pair, recorder = running
    assert_unnoticed(costs(recorder, events.rolling_restart()(pair)))


def test_a_graceful_stop_right_after_the_other_restarted_loses_nothing(running: Running
                                                                       ) -> None:
    """The other server's failure mark is still live in nginx: its backup servers answer."""
    pair, recorder = running
    assert_unnoticed(costs(recorder, events.stop_after_the_other_restarted(pair)))


def test_a_hard_kill_loses_at_most_the_requests_in_flight(running: Running) -> None:
    pair, recorder = running
    window = events.sigkill_then_start(pair)
    kill = window.marks["kill"]
    for cost in costs(recorder, window).values():
        # a request under way when the server died may be lost, no other one
        late = [o for o in cost.failed if o.started > window.marks["dead"]]
        assert late == [], f"{cost.proxy}: failed after the kill: {late}"
        # (a GET under way is sent to the other server unless its answer had begun; a POST
        # that had reached the killed server is lost)
        in_flight = [o for o in recorder.between(kill, kill) if o.proxy == cost.proxy]
        assert len(cost.failed) <= len(in_flight), (cost.failed, in_flight)
        assert cost.worst_get < CALM_GET, cost


def test_a_hung_server_costs_a_few_seconds_not_the_read_timeout(running: Running) -> None:
    """SIGSTOP for HANG seconds: a GET waits at most the quick timeout before it goes to the
    other server; a POST sent after the hang began goes on a new connection, whose handshake
    the hung server never completes, so it moves on after the connect timeout (two logons
    through each proxy begin then, so that one of them meets the hung server if the proxy has
    not left it out yet). Only a POST already under way when the server stopped waits for it
    (it may have reached the password check: it is not sent twice)."""
    pair, recorder = running
    during = Recorder()
    trust = ssl.create_default_context(cafile=str(pair.ca_file))
    users = [f"hung{i}" for i in range(2 * len(pair.proxies))]
    add_users(pair, users)  # two logons through each proxy, of users not logged on yet

    def logons() -> None:
        def one(proxy: Proxy, user: str) -> None:
            browser = Browser(proxy, pair.proxies[proxy].base, trust, during)
            try:
                browser.log_on(user)
            finally:
                browser.close()
        threads = [threading.Thread(target=one, args=(proxy, user)) for proxy, user in
                   zip([p for p in pair.proxies for _ in range(2)], users, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=HANG)

    window = events.hang(HANG, logons)(pair)
    for cost in costs(recorder, window).values():
        assert cost.failed == [], f"{cost.proxy}: {cost.failure_kinds()}"
        assert cost.worst_get <= QUICK_TIMEOUT + CONNECT_TIMEOUT + 1.0, cost
        assert cost.worst_post <= HANG + CALM_ANY, cost
        begun = [o for o in during.outcomes if o.proxy == cost.proxy]
        assert all(o.ok for o in begun), begun
        posts = [o.duration for o in begun if o.kind == "logon POST"]
        assert len(posts) == 2 and max(posts) <= CONNECT_TIMEOUT + CALM_ANY, begun
        assert all(o.ended < window.marks["resumed"] for o in begun), begun  # not the resume


def test_every_request_of_the_run_came_through(running: Running) -> None:
    """Across all the events above: both servers answered, and what failed is only what a
    hard kill may cost (requests under way on the killed server)."""
    pair, recorder = running
    with recorder.lock:
        failed = [o for o in recorder.outcomes if not o.ok]
        count = len(recorder.outcomes)
    assert count > 1000 and pair.kills
    assert all(any(o.started <= dead and o.ended >= kill for kill, dead in pair.kills)
               for o in failed), failed
    for server in pair.servers.values():
        text = server.log.read_text(errors="replace")
        assert text.count('"GET /ICNotifierIDP/login"') > 100, server.bind
        assert text.count('"POST /ICNotifierIDP/login"') > 20, server.bind
