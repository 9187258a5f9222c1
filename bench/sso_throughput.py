"""Benchmark: signed SAML Responses per second, end to end over HTTPS through gunicorn.

Run with `make bench` (or `.venv/bin/python bench/sso_throughput.py`). In one run it measures:

1. `openssl speed rsa2048`: RSA-2048 signatures per second on one core (the ceiling);
2. the STS served by real gunicorn over TLS on loopback, answering an HTTP-Redirect AuthnRequest
   for an already logged-on session (each answer is a freshly signed Response), driven by `wrk`
   at a fixed concurrency: responses per second, p50/p99 latency, and the CPU the server used;
3. signing the same Response in process: our signer, and pysaml2's default path, which runs the
   `xmlsec1` program per message;
4. the serving comparison (bench/serving.py): the STS's worker, the worker it replaced, and
   gunicorn's own gevent (with and without a yielding post_request) and gthread workers, side by
   side in rounds: responses/s, responses per server CPU-second, p50 and p99.

Traffic goes only to 127.0.0.1, for a bounded time.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import httpx
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.serving import Variant, compare, summary, table  # noqa: E402
from bench.variants import VARIANTS  # noqa: E402
from idp.config import load_config  # noqa: E402
from idp.demo.sp import DemoIdp  # noqa: E402
from idp.keys import generate_secret, generate_signing_pair, generate_tls_pair  # noqa: E402
from idp.saml.metadata import SSO_PATH  # noqa: E402
from tests.conftest import PASSWORD, hidden, seed_users, write_config  # noqa: E402
from tests.servers import free_port, sts_server  # noqa: E402


def openssl_rsa2048(seconds: int) -> float:
    out = subprocess.run(["openssl", "speed", "-seconds", str(seconds), "rsa2048"],
                         capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("rsa 2048 bits"))
    return float(line.split()[-2])  # "rsa 2048 bits 0.000845s 0.000025s 1183.4 40234.1"


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user+system) used so far by `pid` and its children still alive."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    pids += [int(p) for p in children.split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def authn_query(sp_base: str, sts_base: str) -> str:
    """An unsigned HTTP-Redirect AuthnRequest issued now: the STS refuses one whose IssueInstant
    is older than idp.request_max_age (300 s), so build a fresh one for each run."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    xml = (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_bench1" Version="2.0" '
        f'IssueInstant="{now}" Destination="{sts_base}{SSO_PATH}" '
        f'AssertionConsumerServiceURL="{sp_base}/acs">'
        f"<saml:Issuer>{sp_base}/metadata</saml:Issuer></samlp:AuthnRequest>")
    deflated = zlib.compress(xml.encode())[2:-4]
    return httpx.QueryParams({"loginType": "saml",
                              "SAMLRequest": base64.b64encode(deflated).decode(),
                              "RelayState": "bench"}).__str__()


def log_on(client: httpx.Client, url: str) -> None:
    page = client.get(url)
    form = {"ctx": hidden(page.text, "ctx"), "csrf": hidden(page.text, "csrf"),
            "user_id": "alice", "password": PASSWORD}
    answer = client.post(url.split("?")[0] + "?loginType=saml", data=form)
    if "SAMLResponse" not in answer.text:
        raise SystemExit("bench: logon failed")


def run_wrk(url: str, cookie: str, connections: int, seconds: int,
            threads: int = 2) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-H", f"Cookie: {cookie}", url],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rate": rate, "p50": _ms(lat["50"]), "p99": _ms(lat["99"]),
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1) if errors else "none"}  # type: ignore[dict-item]


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def in_process_signing(config_path: Path, count: int) -> dict[str, float]:
    """Our signer and pysaml2's default xmlsec1 path on the same unsigned Response."""
    import datetime as dt

    from saml2.sigver import CryptoBackendXmlSec1, SecurityContext

    from idp.saml.response import ResponseParams, Subject, build_response
    from idp.saml.signing import Signer

    config = load_config(config_path)
    signer = Signer(config.idp.signing_key.read_bytes(),
                    config.idp.signing_certificate.read_bytes())
    now = dt.datetime.now(dt.UTC)
    params = ResponseParams("https://127.0.0.1", "https://sp/metadata", "https://sp/acs",
                            "_r", "_s", now, now, 300, 30)
    subject = Subject("alice@example.com", {"email": "alice@example.com",
                                            "OrganizationName": "acme"})
    start = time.perf_counter()
    for _ in range(count):
        signed = build_response(params, subject, signer)
    ours = count / (time.perf_counter() - start)

    # The same document with an empty signature template: what pysaml2 hands to xmlsec1.
    root = etree.fromstring(signed)
    sig = root.find("{http://www.w3.org/2000/09/xmldsig#}Signature")
    for child in ("SignatureValue", "KeyInfo"):
        node = sig.find(f"{{http://www.w3.org/2000/09/xmldsig#}}{child}")
        if child == "SignatureValue":
            node.text = ""
        else:
            for x in node.iter("{http://www.w3.org/2000/09/xmldsig#}X509Certificate"):
                x.text = ""
    for digest in sig.iter("{http://www.w3.org/2000/09/xmldsig#}DigestValue"):
        digest.text = ""
    template = etree.tostring(root).decode()
    context = SecurityContext(CryptoBackendXmlSec1(shutil.which("xmlsec1")),
                              key_file=str(config.idp.signing_key),
                              cert_file=str(config.idp.signing_certificate))
    rounds = max(20, count // 25)
    start = time.perf_counter()
    for _ in range(rounds):
        context.sign_statement(template, "urn:oasis:names:tc:SAML:2.0:protocol:Response",
                               node_id=root.get("ID"))
    pysaml2 = rounds / (time.perf_counter() - start)
    return {"ours": ours, "pysaml2_xmlsec1": pysaml2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration")
    # Enough connections that gunicorn's workers each get some: they accept keep-alive
    # connections as they come, and with a handful opened at once one worker may take them all.
    parser.add_argument("--connections", type=int, default=32, help="wrk concurrency")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--wrk-threads", type=int, default=2,
                        help="wrk threads (1 with --workers 1 leaves a core to each side)")
    parser.add_argument("--serving", default=",".join(VARIANTS),
                        help="ways of serving to compare, comma-separated ('' for none)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the comparison")
    parser.add_argument("--compare-seconds", type=int, default=10,
                        help="wrk duration of each variant in each round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cic-sts-bench-"))
    keys = folder / "keys"
    generate_signing_pair(keys / "saml-signing.key", keys / "saml-signing.crt",
                          "https://127.0.0.1", force=False)
    generate_tls_pair(keys / "tls.key", keys / "tls.crt", ["127.0.0.1"], force=False)
    generate_secret(keys / "session.secret", force=False)
    port = free_port()
    sp_base = "https://sp.bench.test"
    config_path = write_config(folder, keys, sp_base=sp_base, machine="127.0.0.1", port=port,
                               extra="")
    text = config_path.read_text().replace(
        f"port = {port}\n", f"port = {port}\nworkers = {args.workers}\n"
        "log_level = \"warning\"\n")
    config_path.write_text(text)
    config = load_config(config_path)
    seed_users(config.directory.database)
    _ = DemoIdp  # the SP metadata is written by write_config

    results: dict[str, object] = {"load_average_before": os.getloadavg()[0]}
    results["openssl_rsa2048_sign_per_s"] = openssl_rsa2048(5)
    bind = f"127.0.0.1:{port}"
    with sts_server(config_path, bind, folder / "sts.log") as server:
        query = authn_query(sp_base, config.public_base_url)
        url = f"https://{bind}{SSO_PATH.split('?')[0]}?{query}"
        with httpx.Client(verify=False) as client:
            log_on(client, url)
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            check = client.get(url)
            assert "SAMLResponse" in check.text and 'name="password"' not in check.text
        run_wrk(url, cookie, args.connections, 3, args.wrk_threads)  # warm-up
        cpu_before, wall_before = process_tree_cpu(server.pid), time.monotonic()
        wrk = run_wrk(url, cookie, args.connections, args.seconds, args.wrk_threads)
        cpu = process_tree_cpu(server.pid) - cpu_before
        wall = time.monotonic() - wall_before
        # The same server answering /healthz (no SAML at all): the ceiling that gunicorn, TLS
        # and Flask set on this machine, per core, for comparison.
        cpu_before, wall_before = process_tree_cpu(server.pid), time.monotonic()
        health = run_wrk(f"https://{bind}/healthz", cookie, args.connections, args.seconds,
                         args.wrk_threads)
        health_cores = (process_tree_cpu(server.pid) - cpu_before) / (
            time.monotonic() - wall_before)
    results.update({f"https_{k}": v for k, v in wrk.items()})
    results["server_cores_used"] = round(cpu / wall, 2)
    results["healthz_per_s"] = health["rate"]
    results["healthz_per_core_per_s"] = round(health["rate"] / max(health_cores, 0.01), 1)
    query = authn_query(sp_base, config.public_base_url)

    def prepare(variant: Variant) -> None:
        variant.url = f"https://{variant.bind}{SSO_PATH.split('?')[0]}?{query}"
        with httpx.Client(verify=False) as client:
            log_on(client, variant.url)
            variant.cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())

    def measure(url: str, cookie: str, seconds: int) -> dict[str, float]:
        fresh = url.split("?")[0] + "?" + authn_query(sp_base, config.public_base_url)
        return run_wrk(fresh, cookie, args.connections, seconds, args.wrk_threads)

    names = [n for n in args.serving.split(",") if n]
    serving = summary(compare(names, config_path, folder, prepare, measure, process_tree_cpu,
                              args.rounds, args.compare_seconds)) if names else []
    results["serving"] = serving
    results.update({f"in_process_{k}_per_s": v for k, v in
                    in_process_signing(config_path, 2000).items()})
    openssl = float(results["openssl_rsa2048_sign_per_s"])  # type: ignore[arg-type]
    cores = max(float(results["server_cores_used"]), 0.01)  # type: ignore[arg-type]
    results["ratio_https_per_core_to_openssl"] = round(wrk["rate"] / cores / openssl, 3)
    # Every SSO answer does at least what /healthz does (TLS, HTTP, Flask, the hooks) plus one
    # RSA signature: the best any SSO answer could do on this stack, per core.
    bound = 1 / (1 / max(float(results["healthz_per_core_per_s"]), 1.0) + 1 / openssl)  # type: ignore[arg-type]
    results["bound_per_core_per_s"] = round(bound, 1)
    results["ratio_bound_to_openssl"] = round(bound / openssl, 3)
    results["ratio_https_to_pysaml2_default"] = round(
        wrk["rate"] / float(results["in_process_pysaml2_xmlsec1_per_s"]), 1)  # type: ignore[arg-type]
    shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    r = results
    rows = [
        ("openssl speed rsa2048 (1 core)", f"{openssl:9.1f} signatures/s"),
        (f"STS over HTTPS (gunicorn, {args.workers} gevent workers)",
         f"{wrk['rate']:9.1f} signed Responses/s"),
        ("  latency p50 / p99", f"{wrk['p50']:.2f} ms / {wrk['p99']:.2f} ms"),
        ("  server CPU", f"{cores:.2f} cores (non-2xx: {wrk['non2xx']}, "
                         f"socket errors: {wrk['socket_errors']})"),
        ("  signed Responses/s per server core", f"{wrk['rate'] / cores:9.1f}"),
        ("same server, /healthz per server core",
         f"{r['healthz_per_core_per_s']:9.1f} answers/s (no SAML: the HTTP ceiling)"),
        ("bound: /healthz + one RSA signature",
         f"{r['bound_per_core_per_s']:9.1f} per server core = "
         f"{r['ratio_bound_to_openssl']:.2f} of openssl"),
        ("in process, our signer", f"{r['in_process_ours_per_s']:9.1f} Responses/s"),
        ("in process, pysaml2 default (xmlsec1)",
         f"{r['in_process_pysaml2_xmlsec1_per_s']:9.1f} Responses/s"),
        ("ratio HTTPS per server core / openssl",
         f"{r['ratio_https_per_core_to_openssl']:.2f}"),
        ("ratio HTTPS / pysaml2 default path",
         f"{r['ratio_https_to_pysaml2_default']:.1f}x (target >= 25)"),
    ]
    print(f"cic-sts SSO benchmark ({os.cpu_count()} cores, load average "
          f"{results['load_average_before']:.2f} before the run, wrk -t{args.wrk_threads} "
          f"-c{args.connections}, "
          f"{args.seconds} s)")
    if cores < 0.8 * min(args.workers, os.cpu_count() or 1):
        print(f"  WARNING: the server used only {cores:.2f} cores: the connections landed "
              "unevenly on the workers; run again (or with more --connections)")
    for label, value in rows:
        print(f"  {label:<44} {value}")
    if serving:
        print(f"\nServing compared ({args.rounds} rounds of {args.compare_seconds} s each, "
              f"{args.workers} workers, wrk -t{args.wrk_threads} -c{args.connections}; medians; "
              "'vs legacy': median of the round by round ratios of responses per CPU-second):")
        print(table(serving))

if __name__ == "__main__":
    main()
