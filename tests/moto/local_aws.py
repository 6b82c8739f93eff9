"""A local, access-controlled STS + S3 for rolebridge's tests and demo (moto server on loopback).

Stock moto (5.2) leaves two gaps that would make the tests prove nothing, so this launcher closes
them in-process before serving:

1. Cross-account trust: moto looks the role of an AssumeRole call up in the *caller's* account, so
   a role in another account is assumed without its trust policy or `sts:ExternalId` condition
   being evaluated, and a role that does not exist can be assumed. Here the role is looked up in
   the account its ARN names, a missing role is denied, and its trust policy is evaluated.
   Moto also lets a condition on an absent key pass (no ExternalId at all satisfies
   `StringEquals sts:ExternalId`); as in IAM, such a condition now fails unless it is an
   `...IfExists`, `Null` or `ForAllValues:` one.
2. Moto renders its IAM-enforcement errors for STS (AccessDenied, InvalidClientTokenId,
   SignatureDoesNotMatch) in EC2's `<Errors><Error>` wrapper; real STS (awsQuery) answers
   `<ErrorResponse><Error>`, which is what the AWS SDK for Rust parses. Here they are rendered as
   STS renders them.
3. Moto's request recorder appends each entry to its file from the request's own thread without a
   lock, so concurrent requests (Spark tasks) can interleave entries; here the appends are
   serialised.
4. The AWS SDK for Java v1 signs `User-Agent`, which botocore's verifier drops from the signed
   headers, so every v1 request would fail with SignatureDoesNotMatch once auth is on.
5. AssumeRoleWithWebIdentity is unsigned (the token is the proof), and moto's IAM enforcement
   answers it with HTTP 500. Here it is let through without a signature when it carries the
   fixture's web identity token and names a role that exists and whose trust policy allows
   `sts:AssumeRoleWithWebIdentity`; any other token is InvalidIdentityToken (as STS answers a token
   its OIDC provider did not sign). Nothing else goes unsigned.
6. A trust policy that names a role (`arn:aws:iam::A:role/R`) admits that role's sessions
   (`arn:aws:sts::A:assumed-role/R/S`), as IAM does; moto compares the ARNs as strings.
7. Moto evaluates an identity policy's conditions with no request values at all, so a statement
   with a condition never applies. Here the request's `s3:prefix` (the `prefix` of a listing) and
   `sts:ExternalId` are given to them, as IAM does, so that prefix-limited policies (`rolebridge
   policy --prefix`) are evaluated.
8. Moto accepts an AssumeRole's session tags and SourceIdentity whatever the trust policy says.
   Here, as in IAM, a call that passes tags (`Tags`, `TransitiveTagKeys`) needs the trust policy
   to allow `sts:TagSession` as well, and one that passes `SourceIdentity` needs
   `sts:SetSourceIdentity`. Not emulated: that STS carries a session's SourceIdentity and
   transitive tags on to the sessions it assumes (moto keeps neither), and the caller's own
   identity policy's share of those two permissions.
9. Once a multipart upload has been made, moto's state dump (/moto-api/data.json, which the tests
   use to map an access key to its session) fails with HTTP 500 for the rest of the server's life:
   the parts are keys without a bucket, and reading a key's status looks its bucket up. Here a key
   without a bucket reports its status without that lookup.

Then it creates the fixture (accounts, users, roles, buckets) with auth off, turns IAM enforcement
on, writes the fixture as JSON and serves until killed. The moto request recorder is available at
/moto-api/recorder/* (start/stop/reset/download).

Usage: local_aws.py --port PORT --fixture-out FILE [--recording FILE]
"""

import argparse
import json
import os
import signal
import sys
import threading

SOURCE_ACCOUNT = "111111111111"
JOB_BUCKET = "job-own"
DEST_ACCOUNT_A = "222222222222"
DEST_ACCOUNT_B = "333333333333"
EXTERNAL_ID_A = "rolebridge-test-ext-a"
EXTERNAL_ID_B = "rolebridge-test-ext-b"
EXTERNAL_ID_SOURCES = "rolebridge-test-ext-sources"
EXTERNAL_ID_TENANTS = "rolebridge-test-ext-tenants"
EXTERNAL_ID_HOP = "rolebridge-test-ext-hop"
EXTERNAL_ID_CHAIN = "rolebridge-test-ext-chain"
# What a role's trust policy allows when callers may pass session tags and a SourceIdentity.
TAGGED_ASSUME = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
# What EKS's pod identity webhook would mount as AWS_WEB_IDENTITY_TOKEN_FILE (not a real JWT: the
# local STS compares it, as real STS checks the OIDC provider's signature).
WEB_IDENTITY_TOKEN = "rolebridge-test-web-identity-token"


def patch_moto():
    import botocore.auth

    if "user-agent" in botocore.auth.SIGNED_HEADERS_BLACKLIST:
        botocore.auth.SIGNED_HEADERS_BLACKLIST.remove("user-agent")

    from moto.moto_api._internal.recorder.models import Recorder

    record_unlocked = Recorder._record_request
    record_lock = threading.Lock()

    def record_request(self, *args, **kwargs):
        with record_lock:
            return record_unlocked(self, *args, **kwargs)

    Recorder._record_request = record_request

    from moto.moto_api._internal.managed_state_model import ManagedState
    from moto.s3.models import FakeKey

    key_status = FakeKey.status

    def status_without_bucket_lookup(self):
        if self.bucket_name is None:  # a multipart upload's part
            return ManagedState.status.fget(self)
        return key_status.fget(self)

    FakeKey.status = property(status_without_bucket_lookup, key_status.fset)

    from moto.iam import access_control
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends
    from moto.iam.utils import (
        REQUIRE_RESOURCE_ACCESS_POLICIES_CHECK,
        format_incoming_conditional_values,
    )

    def role_in_its_own_account(role_arn):
        parts = role_arn.split(":")
        if len(parts) < 6 or parts[2] != "iam":
            raise NotFoundException(f"not a role ARN: {role_arn}")
        return iam_backends[parts[4]][parts[1]].get_role_by_arn(role_arn)

    def is_assuming_role_operation(self, resource_arn):
        return (
            ":role" in resource_arn.lower()
            and self._action in REQUIRE_RESOURCE_ACCESS_POLICIES_CHECK
        )

    def check_role_trust_relationship(self, role_arn):
        try:
            role = role_in_its_own_account(role_arn)
        except NotFoundException:
            return False  # real STS: AccessDenied for a role that does not exist
        policy = access_control.IAMPolicy(role.assume_role_policy_document)
        principals = [self._access_key.arn]
        session = self._access_key.arn.split(":")
        if len(session) == 6 and session[2] == "sts" and session[5].startswith("assumed-role/"):
            # arn:aws:sts::A:assumed-role/R/S is a session of arn:aws:iam::A:role/R
            principals.append(f"arn:{session[1]}:iam::{session[4]}:role/{session[5].split('/')[1]}")
        conditions = format_incoming_conditional_values(self._data)
        params = self._data.keys() if isinstance(self._data, dict) else ()
        actions = [self._action]
        if any(k.startswith(("Tags.member.", "TransitiveTagKeys.member.")) for k in params):
            actions.append("sts:TagSession")
        if "SourceIdentity" in params:
            actions.append("sts:SetSourceIdentity")
        return any(
            all(
                policy.is_action_permitted(a, role_arn, p, conditions)
                == access_control.PermissionResult.PERMITTED
                for a in actions
            )
            for p in principals
        )

    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.core.exceptions import _RESTError

    def sts_refusal(code, message):
        from xmltodict import unparse

        e = _RESTError(code, message)
        error = {"Type": "Sender", "Code": code, "Message": message}
        e.description = unparse({"ErrorResponse": {"Error": error, "RequestId": "rolebridge-test"}}, full_document=True)
        return e

    authorize_signed = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action

    def authorize(self, resource="*"):
        if self._get_action() != "AssumeRoleWithWebIdentity":
            return authorize_signed(self, resource)
        if self._get_param("WebIdentityToken") != WEB_IDENTITY_TOKEN:
            raise sts_refusal("InvalidIdentityToken", "the web identity token was not issued by a trusted provider")
        try:
            role = role_in_its_own_account(self._get_param("RoleArn") or "")
        except NotFoundException:
            raise sts_refusal("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        trust = json.loads(role.assume_role_policy_document)
        if not any(
            st.get("Effect") == "Allow" and "sts:AssumeRoleWithWebIdentity" in json.dumps(st.get("Action"))
            for st in trust.get("Statement", [])
        ):
            raise sts_refusal("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")

    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize

    from moto.iam import policy_conditions

    verify_present_values = policy_conditions.TrustCondition.verify_condition

    def verify_condition(self, actual_values):
        op = self._condition
        tolerant = op.endswith("IfExists") or op == "Null" or op.startswith("ForAllValues")
        if not actual_values and not tolerant:
            return False
        return verify_present_values(self, actual_values)

    policy_conditions.TrustCondition.verify_condition = verify_condition
    def as_aws_query(raise_error):
        def wrapper(self, *args):
            try:
                raise_error(self, *args)
            except Exception as e:  # a moto _RESTError
                from xmltodict import unparse

                error = {"Type": "Sender", "Code": e.error_type, "Message": e.message}
                e.description = unparse(
                    {"ErrorResponse": {"Error": error, "RequestId": "rolebridge-test"}},
                    full_document=True,
                )
                raise

        return wrapper

    for name in ("_raise_access_denied", "_raise_signature_does_not_match", "_raise_invalid_access_key"):
        setattr(access_control.IAMRequest, name, as_aws_query(getattr(access_control.IAMRequest, name)))

    def check_action_permitted(self, resource):
        if self._action == "sts:GetCallerIdentity":  # always allowed, as in moto and IAM
            return
        conditions = format_incoming_conditional_values(self._data)
        prefix = self._data.get("prefix") if isinstance(self._data, dict) else None
        if prefix is not None:
            conditions["s3:prefix"] = prefix[0] if isinstance(prefix, list) else prefix
        permitted = False
        for document in self._access_key.collect_policies():
            result = access_control.IAMPolicy(document).is_action_permitted(
                self._action, resource, None, conditions
            )
            if result == access_control.PermissionResult.DENIED:
                self._raise_access_denied()
            elif result == access_control.PermissionResult.PERMITTED:
                permitted = True
        if self._is_assuming_role_operation(resource):
            permitted = permitted and self._check_role_trust_relationship(resource)
        if not permitted:
            self._raise_access_denied()

    access_control.IAMRequestBase.check_action_permitted = check_action_permitted
    access_control.IAMRequestBase._is_assuming_role_operation = is_assuming_role_operation
    access_control.IAMRequestBase._check_role_trust_relationship = check_role_trust_relationship


def client(endpoint, service, account, region="us-east-1"):
    import boto3

    c = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="fixture-setup",
        aws_secret_access_key="fixture-setup",
    )

    def add_account(request, **_):
        request.headers["x-moto-account-id"] = account

    c.meta.events.register("before-sign.*.*", add_account)
    return c


def trust_policy(principal_arn, external_id, actions="sts:AssumeRole"):
    """Trust for `principal_arn` (one ARN or a list), with an sts:ExternalId condition if given."""
    statement = {"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": actions}
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def bucket_policy(bucket):
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )


def make_user(endpoint, account, name, policy):
    iam = client(endpoint, "iam", account)
    user = iam.create_user(UserName=name)["User"]
    iam.put_user_policy(UserName=name, PolicyName="only-assume-role", PolicyDocument=policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "arn": user["Arn"],
        "accessKeyId": key["AccessKeyId"],
        "secretAccessKey": key["SecretAccessKey"],
    }


def make_destination(endpoint, account, role_name, bucket, source_arn, external_id, actions="sts:AssumeRole",
                     region="us-east-1"):
    iam = client(endpoint, "iam", account)
    role = iam.create_role(
        RoleName=role_name,
        AssumeRolePolicyDocument=trust_policy(source_arn, external_id, actions),
        MaxSessionDuration=43200,
    )["Role"]
    iam.put_role_policy(RoleName=role_name, PolicyName="write-bucket", PolicyDocument=bucket_policy(bucket))
    s3 = client(endpoint, "s3", account, region)
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    return {"account": account, "roleArn": role["Arn"], "bucket": bucket, "externalId": external_id,
            "region": region}


def make_hop(endpoint, account, role_name, trusted, external_id, assume_policy):
    """A role of a role chain: trusted by `trusted`, allowed by its own policy to assume roles."""
    iam = client(endpoint, "iam", account)
    role = iam.create_role(
        RoleName=role_name, AssumeRolePolicyDocument=trust_policy(trusted, external_id, TAGGED_ASSUME)
    )["Role"]
    iam.put_role_policy(RoleName=role_name, PolicyName="only-assume-role", PolicyDocument=assume_policy)
    return {"account": account, "roleArn": role["Arn"], "externalId": external_id}


def create_fixture(endpoint):
    assume_any = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}],
        }
    )
    source = make_user(endpoint, SOURCE_ACCOUNT, "etl-source", assume_any)
    # Allowed to call AssumeRole by its own policy, but named by no trust policy.
    intruder = make_user(endpoint, SOURCE_ACCOUNT, "intruder", assume_any)
    # The source of EMR on EKS / IRSA: a role of the source account that a pod's web identity
    # token is exchanged for (AssumeRoleWithWebIdentity).
    pod_role = client(endpoint, "iam", SOURCE_ACCOUNT).create_role(
        RoleName="eks-pod-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": f"arn:aws:iam::{SOURCE_ACCOUNT}:oidc-provider/oidc.eks.local"},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                    }
                ],
            }
        ),
    )["Role"]
    # The source of an AWS profile role chain (role_arn + source_profile): a role of the source
    # account that the source user may assume.
    profile_role = client(endpoint, "iam", SOURCE_ACCOUNT).create_role(
        RoleName="profile-hop", AssumeRolePolicyDocument=trust_policy(source["arn"], None)
    )["Role"]
    for role in ("eks-pod-role", "profile-hop"):
        client(endpoint, "iam", SOURCE_ACCOUNT).put_role_policy(
            RoleName=role, PolicyName="only-assume-role", PolicyDocument=assume_any
        )
    # An administrator per account, for tests that apply policies as a person setting up the
    # accounts would (rolebridge policy's documents).
    admin_policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    admins = {acct: make_user(endpoint, acct, "admin", admin_policy) for acct in (SOURCE_ACCOUNT, DEST_ACCOUNT_A)}
    # The job's own bucket, in the source account: its scripts and logs, which the source itself
    # (the node's own identity) writes; with rolebridge.unmapped.buckets=source no role applies.
    client(endpoint, "iam", SOURCE_ACCOUNT).put_user_policy(
        UserName="etl-source", PolicyName="job-bucket", PolicyDocument=bucket_policy(JOB_BUCKET)
    )
    client(endpoint, "s3", SOURCE_ACCOUNT).create_bucket(Bucket=JOB_BUCKET)
    return {
        "endpoint": endpoint,
        "admins": admins,
        "region": "us-east-1",
        "sourceAccount": SOURCE_ACCOUNT,
        "source": source,
        "intruder": intruder,
        "jobBucket": {"account": SOURCE_ACCOUNT, "bucket": JOB_BUCKET},
        "destA": make_destination(
            endpoint, DEST_ACCOUNT_A, "cross-account-writer", "dest-a", source["arn"], EXTERNAL_ID_A
        ),
        "destB": make_destination(
            endpoint, DEST_ACCOUNT_B, "cross-account-writer-b", "dest-b", source["arn"], EXTERNAL_ID_B
        ),
        # For the benchmark: Hadoop 3.3's AssumedRoleCredentialProvider cannot send an external ID,
        # so every provider compared there assumes this role, which asks for none.
        "webIdentity": {"roleArn": pod_role["Arn"], "token": WEB_IDENTITY_TOKEN},
        "profileHop": {"roleArn": profile_role["Arn"]},
        # A destination that trusts the two sources above (not the source user itself).
        "destSources": make_destination(
            endpoint,
            DEST_ACCOUNT_A,
            "sources-writer",
            "dest-sources",
            [pod_role["Arn"], profile_role["Arn"]],
            EXTERNAL_ID_SOURCES,
        ),
        "bench": make_destination(endpoint, DEST_ACCOUNT_A, "bench-writer", "bench-bucket", source["arn"], None),
        # A bucket in another region than STS's (doctor signs its S3 checks for the bucket's).
        "destEu": make_destination(
            endpoint, DEST_ACCOUNT_A, "eu-writer", "dest-eu", source["arn"], EXTERNAL_ID_A, region="eu-west-2"
        ),
        # A shared cluster's users: alice has a role of her own, the analysts group another; both
        # trust the source with an external ID and allow session tags and a SourceIdentity.
        "tenantAlice": make_destination(
            endpoint, DEST_ACCOUNT_A, "alice-writer", "dest-tenants", source["arn"], EXTERNAL_ID_TENANTS, TAGGED_ASSUME
        ),
        "tenantAnalysts": make_destination(
            endpoint, DEST_ACCOUNT_A, "analysts-writer", "dest-tenants", source["arn"], EXTERNAL_ID_TENANTS, TAGGED_ASSUME
        ),
        # Trusts the source for AssumeRole only: tags or a SourceIdentity are refused.
        "tenantUntagged": make_destination(
            endpoint, DEST_ACCOUNT_A, "untagged-writer", "dest-tenants", source["arn"], EXTERNAL_ID_TENANTS
        ),
        # A role chain: the source (or the EKS pod role) assumes chain-hop in a third account with
        # one external ID, whose session assumes chain-writer with another. broken-hop trusts only
        # the intruder, so a chain through it breaks there.
        "chainHop": make_hop(endpoint, DEST_ACCOUNT_B, "chain-hop", [source["arn"], pod_role["Arn"]], EXTERNAL_ID_HOP, assume_any),
        "brokenHop": make_hop(endpoint, DEST_ACCOUNT_B, "broken-hop", intruder["arn"], None, assume_any),
        "chainDest": make_destination(
            endpoint,
            DEST_ACCOUNT_A,
            "chain-writer",
            "dest-chain",
            f"arn:aws:iam::{DEST_ACCOUNT_B}:role/chain-hop",
            EXTERNAL_ID_CHAIN,
            TAGGED_ASSUME,
        ),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--fixture-out", required=True)
    ap.add_argument("--recording", default=None)
    args = ap.parse_args()
    if args.recording:
        os.environ["MOTO_RECORDER_FILEPATH"] = args.recording

    patch_moto()
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.server import ThreadedMotoServer

    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")  # fixture setup runs unauthenticated
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{args.port}"
    fixture = create_fixture(endpoint)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # from here on every request is authenticated
    ActionAuthenticatorMixin.request_count = 0

    tmp = args.fixture_out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(fixture, f, indent=2)
    os.replace(tmp, args.fixture_out)
    print(f"local STS + S3 ready on {endpoint}", file=sys.stderr, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
