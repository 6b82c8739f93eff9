"""Shared pieces of the Python tests: the local STS + S3's fixture and request recorder, and the
paths scripts/test.sh passes in the environment."""

import base64
import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run the Python tests through scripts/test.sh")
    return value


@pytest.fixture(scope="session")
def release_jar():
    return _env("ROLEBRIDGE_TEST_JAR")


@pytest.fixture(scope="session")
def jars_dir():
    return _env("ROLEBRIDGE_TEST_JARS")


@pytest.fixture(scope="session")
def spark35_python():
    """pyspark 3.5.7's venv (the Spark-on-YARN job)."""
    return _env("ROLEBRIDGE_TEST_SPARK35_PYTHON")


@pytest.fixture(scope="session")
def clients(tmp_path_factory):
    """A fresh venv with the rolebridge wheel, the AWS CLI and boto3 (from the wheelhouse that
    scripts/deps.sh fills; no index)."""
    venv = tmp_path_factory.mktemp("clients") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", "--no-index",
         "--find-links", _env("ROLEBRIDGE_TEST_WHEELHOUSE"), _env("ROLEBRIDGE_TEST_WHEEL"), "awscli", "boto3"],
        check=True,
    )
    return venv


@pytest.fixture(scope="session")
def local_aws():
    with open(_env("ROLEBRIDGE_TEST_FIXTURE")) as f:
        return LocalAws(json.load(f))


class Request:
    def __init__(self, entry):
        self.method = entry["method"]
        self.url = entry["url"]
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        self.authorization = headers.get("authorization", "")
        self.token = headers.get("x-amz-security-token")
        body = entry.get("body") or ""
        self.body = base64.b64decode(body).decode("latin-1") if entry.get("body_encoded") else body

    def _scope(self, i):
        if "Credential=" not in self.authorization:
            return None
        parts = self.authorization.split("Credential=")[1].split(",")[0].split("/")
        return parts[i] if len(parts) > i else None

    @property
    def signed_by(self):
        return self._scope(0)

    @property
    def service(self):
        return self._scope(3)

    @property
    def form(self):
        return dict(urllib.parse.parse_qsl(self.body))

    @property
    def is_assume_role(self):
        return self.service == "sts" and self.form.get("Action") == "AssumeRole"

    def __repr__(self):
        return f"{self.method} {self.url} [{self.service} signed by {self.signed_by}]"


class LocalAws:
    def __init__(self, fixture):
        self.fixture = fixture
        self.endpoint = fixture["endpoint"]

    def _post(self, path):
        urllib.request.urlopen(urllib.request.Request(self.endpoint + path, data=b"", method="POST")).read()

    def session_arn_of_key(self, access_key_id):
        """The ARN of the STS session whose access key this is (from the local STS's state: the
        recorder keeps no response bodies), or None."""
        data = json.loads(urllib.request.urlopen(self.endpoint + "/moto-api/data.json").read())
        for role in data.get("sts", {}).get("AssumedRole", []):
            if role.get("access_key_id") == access_key_id:
                return role.get("arn")
        return None

    def start_recording(self):
        self._post("/moto-api/recorder/reset-recording")
        self._post("/moto-api/recorder/start-recording")

    def stop_recording(self):
        self._post("/moto-api/recorder/stop-recording")
        text = urllib.request.urlopen(self.endpoint + "/moto-api/recorder/download-recording").read().decode()
        return [Request(json.loads(line)) for line in text.splitlines() if line.strip()]
