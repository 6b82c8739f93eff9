"""Proxies (issue 19): the command's STS and S3 calls through a real HTTP proxy (Debian's tinyproxy)
on loopback in front of the local STS + S3; NO_PROXY as curl reads it (no implicit loopback
bypass); basic authentication with the password never shown; instance metadata never proxied."""

import http.server
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid

import pytest

from test_credential_process import rolebridge

PASSWORD = "pr0xy-s3cret-Pa55"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TinyProxy:
    """tinyproxy on 127.0.0.1, in the foreground, logging every request it forwards."""

    def __init__(self, auth=None):
        # Under /tmp, not pytest's tmp_path: tinyproxy drops root for nobody, who must reach its log.
        directory = pathlib.Path(tempfile.mkdtemp(prefix="rolebridge-tinyproxy-"))
        self.dir = directory
        self.port = free_port()
        self.log = directory / "tinyproxy.log"
        self.log.touch()
        os.chmod(directory, 0o777)
        os.chmod(self.log, 0o666)
        lines = [
            f"Port {self.port}", "Listen 127.0.0.1",
            # tinyproxy holds a HEAD answer's connection until its idle timeout: keep that short
            "Timeout 3", f'LogFile "{self.log}"',
            "LogLevel Info", "MaxClients 20", "Allow 127.0.0.1", "DisableViaHeader Yes",
        ]
        if os.geteuid() == 0:
            lines += ["User nobody", "Group nogroup"]
        if auth:
            lines.append(f"BasicAuth {auth[0]} {auth[1]}")
        conf = directory / "tinyproxy.conf"
        conf.write_text("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([shutil.which("tinyproxy"), "-d", "-c", str(conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"tinyproxy did not listen on {self.port}: {self.log.read_text()}")

    def url(self, user=None, password=None):
        auth = f"{user}:{password}@" if user else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def requests(self):
        """The requests the proxy forwarded (its 'Request' log lines), as 'METHOD URL'."""
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if "Request (file descriptor" in line:
                out.append(line.split("): ", 1)[1].strip())
        return out

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def proxy():
    p = TinyProxy()
    yield p
    p.stop()


@pytest.fixture
def auth_proxy():
    p = TinyProxy(auth=("rbuser", PASSWORD))
    yield p
    p.stop()


def env_with(**extra):
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")}
    env.update(extra)
    return env


def credential_process(clients, local_aws, tmp_path, env, dest="destA"):
    d = local_aws.fixture[dest]
    return subprocess.run(
        [rolebridge(clients), "credential-process", "--role-arn", d["roleArn"], "--external-id", d["externalId"],
         "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint,
         # a cache of this call's own: a session in another's would need no STS call
         "--cache-dir", str(tmp_path / f"cache-{uuid.uuid4().hex}")],
        env=env, capture_output=True, text=True, timeout=120,
    )


def assume_roles(recorded):
    return [r for r in recorded if r.is_assume_role]


def test_credential_process_goes_through_http_proxy(tmp_path, clients, local_aws, proxy):
    local_aws.start_recording()
    out = credential_process(clients, local_aws, tmp_path, env_with(HTTP_PROXY=proxy.url()))
    recorded = local_aws.stop_recording()
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["SessionToken"]
    assert len(assume_roles(recorded)) == 1, recorded
    sts = [r for r in proxy.requests() if r.startswith(f"POST {local_aws.endpoint}")]
    assert sts, f"the proxy forwarded no STS call: {proxy.requests()}"


def test_no_proxy_sends_it_direct(tmp_path, clients, local_aws, proxy):
    local_aws.start_recording()
    out = credential_process(clients, local_aws, tmp_path,
                             env_with(HTTP_PROXY=proxy.url(), NO_PROXY="example.com, 127.0.0.1"))
    recorded = local_aws.stop_recording()
    assert out.returncode == 0, out.stderr
    assert len(assume_roles(recorded)) == 1, recorded
    assert proxy.requests() == []


def test_https_proxy_is_not_used_for_http_urls(tmp_path, clients, local_aws, proxy):
    out = credential_process(clients, local_aws, tmp_path, env_with(HTTPS_PROXY=proxy.url()))
    assert out.returncode == 0, out.stderr
    assert proxy.requests() == []


def test_a_proxy_that_refuses_the_password_and_the_password_never_shows(tmp_path, clients, local_aws, auth_proxy):
    local_aws.start_recording()
    out = credential_process(clients, local_aws, tmp_path,
                             env_with(HTTP_PROXY=auth_proxy.url("rbuser", "wrong-" + PASSWORD),
                                      ROLEBRIDGE_LOG="trace"))
    recorded = local_aws.stop_recording()
    assert out.returncode != 0
    assert assume_roles(recorded) == [], "nothing reached STS past the proxy"
    assert PASSWORD not in out.stdout + out.stderr
    assert "via proxy http://rbuser:****@127.0.0.1" in out.stderr, out.stderr

    out = credential_process(clients, local_aws, tmp_path,
                             env_with(HTTP_PROXY=auth_proxy.url("rbuser", PASSWORD), ROLEBRIDGE_LOG="trace"))
    assert out.returncode == 0, out.stderr
    assert PASSWORD not in out.stdout + out.stderr
    assert any(r.startswith(f"POST {local_aws.endpoint}") for r in auth_proxy.requests())


@pytest.mark.parametrize("value,rule", [
    ("socks5://127.0.0.1:1080", "scheme socks5"),
    (f"http://rbuser:{PASSWORD}@127.0.0.1:port", "port is not a number"),
    ("http://rbuser@127.0.0.1:3128", "a user but no password"),
])
def test_a_bad_proxy_variable_is_bad_input_before_any_call(tmp_path, clients, local_aws, value, rule):
    local_aws.start_recording()
    out = credential_process(clients, local_aws, tmp_path, env_with(HTTP_PROXY=value))
    recorded = local_aws.stop_recording()
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("rolebridge: HTTP_PROXY: ") and rule in out.stderr, out.stderr
    assert PASSWORD not in out.stderr
    assert recorded == []


def doctor(clients, local_aws, env):
    d = local_aws.fixture["destA"]
    out = subprocess.run(
        [rolebridge(clients), "doctor", "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint,
         "--s3-endpoint", local_aws.endpoint, "--role-arn", d["roleArn"], "--external-id", d["externalId"],
         "--bucket", d["bucket"], "--json"],
        env=dict(env, ROLEBRIDGE_DOCTOR_ROOT="/nonexistent-emr-node"), capture_output=True, text=True, timeout=120,
    )
    report = json.loads(out.stdout)
    return out, report, {c["name"]: c for c in report["checks"]}


def test_doctor_prints_the_route_and_goes_through_the_proxy(clients, local_aws, auth_proxy):
    out, report, checks = doctor(clients, local_aws, env_with(HTTP_PROXY=auth_proxy.url("rbuser", PASSWORD)))
    assert report["ok"], report
    via = f"via proxy http://rbuser:****@127.0.0.1:{auth_proxy.port} (HTTP_PROXY set and no NO_PROXY)"
    assert checks["route to STS"]["detail"] == f"{local_aws.endpoint}: {via}"
    assert checks["route to S3"]["detail"] == f"{local_aws.endpoint}: {via}"
    assert PASSWORD not in out.stdout + out.stderr
    seen = auth_proxy.requests()
    bucket = local_aws.fixture["destA"]["bucket"]
    assert any(r.startswith(f"POST {local_aws.endpoint}") for r in seen), seen
    assert any(f"{local_aws.endpoint}/{bucket}" in r for r in seen), f"no S3 request through the proxy: {seen}"


def test_doctor_names_the_no_proxy_entry(clients, local_aws, proxy):
    out, report, checks = doctor(clients, local_aws,
                                 env_with(HTTP_PROXY=proxy.url(), no_proxy="localhost,127.0.0.0/8"))
    assert report["ok"], report
    assert checks["route to STS"]["detail"] == \
        f"{local_aws.endpoint}: direct (no_proxy entry \"127.0.0.0/8\" matches 127.0.0.1)"
    assert proxy.requests() == []


def test_unreadable_no_proxy_entries_are_skipped_and_said(tmp_path, clients, local_aws, proxy):
    """NO_PROXY is the node's, shared with other tools: entries only another tool reads (Java's
    10.*, Windows' <local>) are skipped and named by doctor, and never stop the command; without a
    proxy NO_PROXY is not read at all."""
    out, report, checks = doctor(clients, local_aws,
                                 env_with(HTTP_PROXY=proxy.url(), no_proxy="10.*,<local>,127.0.0.1"))
    assert report["ok"], report
    detail = checks["route to STS"]["detail"]
    assert detail.startswith(f"{local_aws.endpoint}: direct (no_proxy entry \"127.0.0.1\" matches 127.0.0.1)"), detail
    assert "no_proxy entries skipped: \"10.*\"" in detail and "\"<local>\"" in detail, detail
    assert proxy.requests() == []
    out = credential_process(clients, local_aws, tmp_path, env_with(NO_PROXY="10.*,<local>,*"))
    assert out.returncode == 0, out.stderr


class Imds(http.server.BaseHTTPRequestHandler):
    """An IMDSv2 stand-in that knows the region only."""
    seen = []

    def do_PUT(self):
        Imds.seen.append(("PUT", self.path, self.headers.get("Via")))
        self._answer("token-1", ttl=self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"))

    def do_GET(self):
        Imds.seen.append(("GET", self.path, self.headers.get("Via")))
        if self.path == "/latest/meta-data/placement/region":
            self._answer("us-east-1")
        else:
            self.send_response(404)
            self.end_headers()

    def _answer(self, text, ttl=None):
        body = text.encode()
        self.send_response(200)
        if ttl:
            self.send_header("X-aws-ec2-metadata-token-ttl-seconds", ttl)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_instance_metadata_is_never_proxied(tmp_path, clients, local_aws, proxy):
    """With HTTP_PROXY set and no NO_PROXY, the process's region comes from an IMDSv2 stand-in on
    loopback (AWS_EC2_METADATA_SERVICE_ENDPOINT): the stand-in is reached directly, the proxy
    forwards the STS call and no metadata request. (At 169.254.169.254 the route itself is direct
    too; this shows the metadata client has no proxy, whatever its endpoint.)"""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Imds)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Imds.seen = []
    try:
        empty = tmp_path / "empty"
        empty.write_text("")
        env = env_with(HTTP_PROXY=proxy.url(), AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
                       AWS_CONFIG_FILE=str(empty), AWS_SHARED_CREDENTIALS_FILE=str(empty))
        for k in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED"):
            env.pop(k, None)
        out = credential_process(clients, local_aws, tmp_path, env)
    finally:
        server.shutdown()
    assert out.returncode == 0, out.stderr
    assert ("GET", "/latest/meta-data/placement/region", None) in Imds.seen, Imds.seen
    seen = proxy.requests()
    assert any(r.startswith(f"POST {local_aws.endpoint}") for r in seen), seen
    assert not any("latest" in r or str(server.server_port) in r for r in seen), seen
