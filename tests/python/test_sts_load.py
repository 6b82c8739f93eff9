"""STS load of many processes on one node (issue 19, items 4 and 5): `rolebridge credential-process`
runs started together on one cache directory, counted by the local STS's request recorder (and,
for throttling, by a fault proxy of this file's own in front of it). The lines starting with
"STS-LOAD" are the measured counts BENCHMARKS.md quotes beside the model
(scripts/sts-load-model.py); nothing here is timed against a limit."""

import concurrent.futures
import http.server
import json
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from test_credential_process import rolebridge

RUNS = 50


def command(clients, local_aws, cache, external_id=None, endpoint=None, extra=()):
    d = local_aws.fixture["destA"]
    return [
        rolebridge(clients), "credential-process",
        "--role-arn", d["roleArn"],
        "--external-id", external_id or d["externalId"],
        "--region", "us-east-1",
        "--sts-endpoint", endpoint or local_aws.endpoint,
        "--cache-dir", str(cache),
        *extra,
    ]


def run_together(commands):
    """Starts every command at once (each a process of its own) and returns, in order,
    (exit status, stdout, stderr, seconds) of each."""
    def one(cmd):
        t0 = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t0
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(commands)) as pool:
        return list(pool.map(one, commands))


def spread(results):
    seconds = sorted(r[3] for r in results)
    return f"median {seconds[len(seconds) // 2] * 1000:.0f} ms, max {seconds[-1] * 1000:.0f} ms"


def test_fifty_runs_on_one_cache_directory_make_one_assume_role(tmp_path, clients, local_aws):
    cache = tmp_path / "cache"
    local_aws.start_recording()
    results = run_together([command(clients, local_aws, cache) for _ in range(RUNS)])
    assume = [r for r in local_aws.stop_recording() if r.is_assume_role]
    for status, out, err, _ in results:
        assert status == 0, err
    keys = {json.loads(out)["AccessKeyId"] for _, out, _, _ in results}
    assert len(keys) == 1, keys
    assert len(assume) == 1, assume
    print(f"STS-LOAD {RUNS} credential-process runs at once, one cache dir: {len(assume)} AssumeRole "
          f"({spread(results)} per run)")


def test_fifty_refused_runs_on_one_cache_directory_make_one_assume_role(tmp_path, clients, local_aws):
    """A broken trust policy (here: a wrong external ID): one AssumeRole for 50 runs started
    together; each exits 1 with STS's code and words and the note that the refusal is remembered
    on the node; 50 more runs within the TTL make none. With rolebridge.refusal.ttl=0 (nothing
    remembered) or a cache directory per run (no node cache), every run asks STS."""
    cache = tmp_path / "cache"
    local_aws.start_recording()
    first = run_together([command(clients, local_aws, cache, "wrong-external-id") for _ in range(RUNS)])
    after_first = len([r for r in local_aws.stop_recording() if r.is_assume_role])
    local_aws.start_recording()
    again = run_together([command(clients, local_aws, cache, "wrong-external-id") for _ in range(RUNS)])
    after_again = len([r for r in local_aws.stop_recording() if r.is_assume_role])
    for status, out, err, _ in first + again:
        assert status == 1, err
        assert out == ""
        assert "AccessDenied" in err and "external ID" in err, err
        assert "Remembered on this node (rolebridge.cache.dir) until" in err, err
        assert f"new processes ask STS sooner once {cache}/" in err and ".refusal is removed" in err, err
        assert local_aws.fixture["source"]["secretAccessKey"] not in err
    assert after_first == 1, f"{RUNS} refused runs together: {after_first} AssumeRole"
    assert after_again == 0, f"{RUNS} more within the TTL: {after_again} AssumeRole"
    records = list(cache.glob("*.refusal"))
    assert len(records) == 1, list(cache.iterdir())
    record = json.loads(records[0].read_text())
    assert record["code"] == "AccessDenied" and record["fetched_by"] == local_aws.fixture["source"]["accessKeyId"]
    assert record["until_ms"] / 1000 > time.time() + 200, record  # 5 minutes less up to a tenth

    local_aws.start_recording()
    off = run_together([command(clients, local_aws, tmp_path / "off", "wrong-external-id",
                                extra=("-D", "rolebridge.refusal.ttl=0")) for _ in range(RUNS)])
    without_ttl = len([r for r in local_aws.stop_recording() if r.is_assume_role])
    local_aws.start_recording()
    alone = run_together([command(clients, local_aws, tmp_path / f"own-{i}", "wrong-external-id")
                          for i in range(RUNS)])
    without_cache = len([r for r in local_aws.stop_recording() if r.is_assume_role])
    for status, _, err, _ in off + alone:
        assert status == 1 and "AccessDenied" in err, err
    for _, _, err, _ in off:
        assert "Remembered" not in err, err
    assert not list((tmp_path / "off").glob("*.refusal"))
    assert without_ttl == RUNS and without_cache == RUNS, (without_ttl, without_cache)
    print(f"STS-LOAD {RUNS} refused runs at once, one cache dir: {after_first} AssumeRole "
          f"({spread(first)} per run), then {after_again} for {RUNS} more ({spread(again)}); "
          f"rolebridge.refusal.ttl=0: {without_ttl}; a cache dir per run: {without_cache}")


class ThrottlingSts:
    """A fault proxy on loopback in front of the local STS: it answers AssumeRole with STS's
    throttling error (HTTP 400, Throttling, "Rate exceeded") while `throttling` is set, passes
    everything else (and AssumeRole once unset) through unchanged (the Host header included, so
    signatures verify), and counts the AssumeRole requests it gets."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.throttling = True
        self.assume_role = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                action = urllib.parse.parse_qs(body.decode("latin-1")).get("Action", [""])[0]
                if action == "AssumeRole":
                    with proxy.lock:
                        proxy.assume_role += 1
                    if proxy.throttling:
                        answer = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                                  b"<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                                  b"</Message></Error><RequestId>rolebridge-test</RequestId></ErrorResponse>")
                        return self.reply(400, {"Content-Type": "text/xml"}, answer)
                request = urllib.request.Request(proxy.upstream + self.path, data=body, method="POST",
                                                 headers={k: v for k, v in self.headers.items()
                                                          if k.lower() != "content-length"})
                try:
                    with urllib.request.urlopen(request, timeout=30) as r:
                        self.reply(r.status, dict(r.headers), r.read())
                except urllib.error.HTTPError as e:
                    self.reply(e.code, dict(e.headers), e.read())

            def reply(self, status, headers, body):
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def throttling_sts(local_aws):
    proxy = ThrottlingSts(local_aws.endpoint)
    yield proxy
    proxy.close()


def wait_out(record):
    """Sleeps until a node record's backoff has ended (its own wall-clock time, plus a little)."""
    left = record["until_ms"] / 1000 - time.time()
    assert left <= 128, record  # the longest backoff
    time.sleep(max(0.0, left) + 0.2)


def test_throttling_is_one_backoff_for_every_process_of_the_node(tmp_path, clients, local_aws, throttling_sts):
    """STS throttles AssumeRole: of 20 runs started together on one cache directory, one calls
    STS (the SDK's 3 attempts) and records the backoff; the other 19 fail at once with STS's
    words without calling it. After the backoff, 10 runs make one more throttled call and the
    backoff doubles (jittered); once STS answers again, one run gets the session, clears the
    record, and the next runs use the session."""
    cache = tmp_path / "cache"
    proxy = throttling_sts

    def runs(n):
        return run_together([command(clients, local_aws, cache, endpoint=proxy.endpoint) for _ in range(n)])

    first = runs(20)
    record_path = next(cache.glob("*.throttle"))
    record = json.loads(record_path.read_text())
    calls_first = proxy.assume_role
    for status, _, err, _ in first:
        assert status == 1, err
        assert "Throttling" in err and "Rate exceeded" in err, err
    remembered = [err for _, _, err, _ in first
                  if "STS throttled 1 AssumeRole call(s) in a row for these settings on this node" in err]
    assert len(remembered) == 20, first[0][2]
    assert calls_first == 3, f"one process's 3 attempts, none from the 19 others: {calls_first}"
    assert record["throttles"] == 1 and record["code"] == "Throttling", record

    wait_out(record)
    second = runs(10)
    record = json.loads(record_path.read_text())
    calls_second = proxy.assume_role - calls_first
    assert all(status == 1 for status, _, _, _ in second)
    assert calls_second == 3, f"after the backoff, one more throttled call: {calls_second}"
    assert record["throttles"] == 2, record

    wait_out(record)
    proxy.throttling = False
    local_aws.start_recording()
    third = runs(10)
    assume = [r for r in local_aws.stop_recording() if r.is_assume_role]
    for status, _, err, _ in third:
        assert status == 0, err
    assert len(assume) == 1, assume
    assert not record_path.exists(), "a successful fetch clears the throttling record"
    print(f"STS-LOAD throttled: 20 runs at once, one cache dir: {calls_first} AssumeRole requests "
          f"(one run's 3 attempts; {spread(first)} per run); after the backoff 10 runs: {calls_second}; "
          f"STS recovered, 10 runs: {len(assume)}")
