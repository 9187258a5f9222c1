"""A steady mix of browsers through a proxy, every request timed on the client's monotonic clock.

Per proxy: logged-on browsers sending AuthnRequests (each answered from the STS session with a
signed Response), new arrivals doing a full password logon of a distinct user (logon page, then
the POSTed form, on a new connection), and metadata GETs. A request has failed when it raised
(refused, reset, closed without an answer, timed out) or its answer is not the page it must be.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from idp.saml.metadata import METADATA_PATH, SSO_PATH
from tests.helpers import SP_ACS, SP_ENTITY, authn_request_xml, redirect_encode
from tests.switchover.pair import PASSWORD, Pair

LOGIN = SSO_PATH.partition("?")[0]
#: Client timeout: far beyond any proxy timeout, so a stall is measured rather than cut.
CLIENT_TIMEOUT = 90.0


@dataclass(frozen=True)
class Outcome:
    proxy: str
    kind: str  # "authn" (logged-on AuthnRequest), "logon page", "logon POST", "metadata"
    started: float
    ended: float
    ok: bool
    detail: str

    @property
    def duration(self) -> float:
        return self.ended - self.started

    @property
    def method(self) -> str:
        return "POST" if self.kind == "logon POST" else "GET"


@dataclass
class Recorder:
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def between(self, start: float, end: float) -> list[Outcome]:
        """Requests that were under way at some moment of [start, end]."""
        with self.lock:
            return [o for o in self.outcomes if o.started <= end and o.ended >= start]


def hidden(html: str, name: str) -> str | None:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    return match.group(1).replace("&#43;", "+").replace("&amp;", "&") if match else None


class Browser:
    """One browser: its own connection(s) to the proxy and its own cookies."""

    def __init__(self, proxy: str, base: str, trust: ssl.SSLContext, recorder: Recorder):
        self.proxy, self.base, self.recorder = proxy, base, recorder
        self.client = httpx.Client(verify=trust, timeout=CLIENT_TIMEOUT)

    def close(self) -> None:
        self.client.close()

    def request(self, kind: str, check: Callable[[httpx.Response], str | None],
                method: str, url: str, **arguments: object) -> httpx.Response | None:
        """One timed request; `check` says what is wrong with the answer, if anything."""
        started = time.monotonic()
        try:
            response = self.client.request(method, url, **arguments)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            self.recorder.add(Outcome(self.proxy, kind, started, time.monotonic(), False,
                                      f"{exc.__class__.__name__}: {exc}"))
            return None
        problem = check(response)
        self.recorder.add(Outcome(self.proxy, kind, started, time.monotonic(), problem is None,
                                  problem or str(response.status_code)))
        return response if problem is None else None

    def authn_request(self) -> httpx.Response | None:
        xml = authn_request_xml(request_id=f"_sw{time.monotonic_ns()}{id(self)}",
                                issue_instant=dt.datetime.now(dt.UTC).strftime(
                                    "%Y-%m-%dT%H:%M:%SZ"),
                                destination=self.base + SSO_PATH, acs_url=SP_ACS,
                                issuer=SP_ENTITY)
        params = {"loginType": "saml", "SAMLRequest": redirect_encode(xml)}
        return self.request("authn" if self.logged_on else "logon page",
                            self._expect("SAMLResponse" if self.logged_on else "ctx"),
                            "GET", self.base + LOGIN, params=params)

    @property
    def logged_on(self) -> bool:
        return "cicsts_session" in self.client.cookies

    def log_on(self, user_id: str) -> bool:
        page = self.authn_request()
        if page is None:
            return False
        form = {"ctx": hidden(page.text, "ctx") or "", "csrf": hidden(page.text, "csrf") or "",
                "user_id": user_id, "password": PASSWORD}
        answer = self.request("logon POST", self._expect("SAMLResponse"), "POST",
                              f"{self.base}{SSO_PATH}", data=form)
        return answer is not None

    def metadata(self) -> None:
        self.request("metadata", self._expect("EntityDescriptor"), "GET",
                     self.base + METADATA_PATH)

    @staticmethod
    def _expect(marker: str) -> Callable[[httpx.Response], str | None]:
        def check(response: httpx.Response) -> str | None:
            if response.status_code != 200:
                return f"HTTP {response.status_code}"
            if marker not in response.text:
                return f"200 without {marker}"
            return None
        return check


@dataclass
class Mix:
    """How many of each kind of client run per proxy, and their pace (seconds between two
    requests of one client)."""

    logged_on: int = 3
    arrivals: int = 1
    metadata: int = 1
    pace: float = 0.15


@contextmanager
def steady_traffic(pair: Pair, mix: Mix | None = None) -> Iterator[Recorder]:
    """The mix through every proxy of `pair` until the block ends."""
    mix = mix or Mix()
    recorder = Recorder()
    stopping = threading.Event()
    users = itertools.count()
    user_lock = threading.Lock()
    trust = ssl.create_default_context(cafile=str(pair.ca_file))

    def next_user() -> str:
        with user_lock:
            return f"user{next(users):05d}"

    def logged_on(proxy: str, base: str) -> None:
        browser = Browser(proxy, base, trust, recorder)
        try:
            while not stopping.is_set() and not browser.logged_on:
                browser.log_on(next_user())
            while not stopping.is_set():
                browser.authn_request()
                stopping.wait(mix.pace)
        finally:
            browser.close()

    def arrivals(proxy: str, base: str) -> None:
        while not stopping.is_set():
            browser = Browser(proxy, base, trust, recorder)  # a new connection, no cookies
            try:
                browser.log_on(next_user())
            finally:
                browser.close()
            stopping.wait(mix.pace)

    def metadata(proxy: str, base: str) -> None:
        browser = Browser(proxy, base, trust, recorder)
        try:
            while not stopping.is_set():
                browser.metadata()
                stopping.wait(mix.pace)
        finally:
            browser.close()

    threads = []
    for name, running in pair.proxies.items():
        for loop, count in ((logged_on, mix.logged_on), (arrivals, mix.arrivals),
                            (metadata, mix.metadata)):
            threads += [threading.Thread(target=loop, args=(name, running.base), daemon=True,
                                         name=f"{name}-{loop.__name__}-{i}")
                        for i in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield recorder
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)
