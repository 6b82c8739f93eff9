#!/usr/bin/env bash
# The README's EMR and credential_process quick starts, step by step as a newcomer runs them, but
# against the local STS + S3: the command from the wheel, `policy` for the IAM documents and the
# classifications of emr-7.9.0, a fake EMR node (EMR's emrfs-site.xml from those classifications,
# the jar in auxlib) that `doctor` checks, a Hadoop put through real S3A 3.3.1 with the same
# settings (EMRFS is not available outside EMR), who signed each request, and a credential_process
# profile used by boto3. Expects scripts/deps.sh and scripts/package.sh to have run.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -f "$JAR" ] && [ -f "$WHEEL" ] || die "no $JAR or $WHEEL: run scripts/package.sh"
start_local_aws >/dev/null 2>&1
f() { fixture_get "$@"; }
Q=$(mktemp -d); trap 'stop_local_aws; rm -rf "$Q"' EXIT; mkdir -p $Q/conf
export AWS_ACCESS_KEY_ID=$(f source accessKeyId) AWS_SECRET_ACCESS_KEY=$(f source secretAccessKey) AWS_DEFAULT_REGION=us-east-1
EP=$(f endpoint); ROLE=$(f destA roleArn); EXT=$(f destA externalId); B=$(f destA bucket); SRC=$(f source arn)
echo "## step 1: install the command"
echo '$ python3 -m venv ~/rolebridge && ~/rolebridge/bin/pip install target/wheels/...x86_64.whl'
python3 -m venv $Q/venv && $Q/venv/bin/pip install -q --disable-pip-version-check "$WHEEL" && export PATH=$Q/venv/bin:$PATH
rolebridge --version
echo "## step 2: IAM (first lines)"
echo "\$ rolebridge policy --role-arn $ROLE --external-id *** --source-principal $SRC --bucket $B --prefix etl"
rolebridge policy --role-arn "$ROLE" --external-id "$EXT" --source-principal "$SRC" --bucket "$B" --prefix etl | grep '^#'
echo "## step 3: classifications for emr-7.9.0 (the local STS endpoint added as the fixture needs)"
rolebridge policy --format emr --emr-release emr-7.9.0 --role-arn "$ROLE" --external-id "$EXT" --source-principal "$SRC" \
  --bucket "$B" --region us-east-1 --sts-endpoint "$EP" > $Q/configurations.json
sed "s/$EXT/***/" $Q/configurations.json
echo "\$ rolebridge policy --format emr   (without --emr-release)"
set +e; rolebridge policy --format emr --role-arn "$ROLE" --source-principal "$SRC" --bucket "$B"; echo "exit $?"; set -e
echo "## step 3b: what the bootstrap action and EMR leave on a node (a fake root: emrfs-site.xml from the classification, the jar in auxlib)"
mkdir -p $Q/node/usr/share/aws/emr/emrfs/conf $Q/node/usr/share/aws/emr/emrfs/auxlib $Q/node/etc/hadoop/conf
"$VENV/bin/python" - "$Q/configurations.json" "$Q/node/usr/share/aws/emr/emrfs/conf/emrfs-site.xml" <<'PY'
import json, sys
props = json.load(open(sys.argv[1]))[0]["Properties"]
with open(sys.argv[2], "w") as f:
    f.write("<configuration>\n" + "".join(f"<property><name>{k}</name><value>{v}</value></property>\n" for k, v in props.items()) + "</configuration>\n")
PY
echo '<configuration><property><name>fs.defaultFS</name><value>hdfs://primary:8020</value></property></configuration>' > $Q/node/etc/hadoop/conf/core-site.xml
cp "$JAR" $Q/node/usr/share/aws/emr/emrfs/auxlib/
echo "## step 4: verify on the node"
echo "\$ rolebridge doctor --bucket $B --prefix etl/ --write"
set +e; ROLEBRIDGE_DOCTOR_ROOT=$Q/node rolebridge doctor --bucket "$B" --prefix etl/ --write --s3-endpoint "$EP" > $Q/doctor.txt; echo "exit $?"; set -e
sed "s/$EXT/***/g" $Q/doctor.txt | cut -c1-400
echo "## step 4b: a Hadoop write of the same configuration (real S3A 3.3.1; s3a:// as EMRFS is not available here)"
"$VENV/bin/python" - "$Q/configurations.json" "$B" "$EP" "$Q/conf/core-site.xml" <<'PY'
import json, sys
props = json.load(open(sys.argv[1]))[0]["Properties"]
props.pop("fs.s3.customAWSCredentialsProvider")
props.update({"fs.s3a.aws.credentials.provider": "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider",
              "fs.s3a.endpoint": sys.argv[3], "fs.s3a.path.style.access": "true", "fs.s3a.connection.ssl.enabled": "false"})
with open(sys.argv[4], "w") as f:
    f.write("<configuration>\n" + "".join(f"<property><name>{k}</name><value>{v}</value></property>\n" for k, v in props.items()) + "</configuration>\n")
PY
echo hello > $Q/hello.txt; set +e
start=$(date +%s)
curl -s -X POST "$EP/moto-api/recorder/reset-recording" >/dev/null; curl -s -X POST "$EP/moto-api/recorder/start-recording" >/dev/null
java -cp "$Q/conf:$(runtime_cp)" org.apache.hadoop.fs.FsShell -mkdir -p "s3a://$B/etl/" 2>&1 | grep -v -e WARN -e '^\s*at ' | tail -4
java -cp "$Q/conf:$(runtime_cp)" org.apache.hadoop.fs.FsShell -put -f $Q/hello.txt "s3a://$B/etl/hello.txt" 2>&1 | grep -v -e WARN -e '^\s*at ' | tail -4
java -cp "$Q/conf:$(runtime_cp)" org.apache.hadoop.fs.FsShell -ls "s3a://$B/etl/" 2>&1 | grep -v -e WARN -e '^\s*at ' | tail -4
java -cp "$Q/conf:$(runtime_cp)" org.apache.hadoop.fs.FsShell -ls "s3a://job-own/" 2>&1 | grep -v -e WARN -e '^\s*at ' | tail -4
curl -s -X POST "$EP/moto-api/recorder/stop-recording" >/dev/null
echo "## step 5: what the recorder shows (who signed each request)"
curl -s "$EP/moto-api/recorder/download-recording" | "$VENV/bin/python" -c "
import json, re, sys
src = '$AWS_ACCESS_KEY_ID'
for line in sys.stdin:
    r = json.loads(line)
    auth = (r.get('headers') or {}).get('Authorization', '')
    m = re.search(r'Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/', auth)
    key, svc = (m.group(1), m.group(3)) if m else ('-', '?')
    who = 'the source (etl-source)' if key == src else ('an assumed-role session' if key.startswith('ASIA') else key)
    print(f\"{svc:3} {r.get('method'):6} {r.get('url', '').split('?')[0].replace('$EP', '')[:40]:40} signed by {who} ({key[:8]}...)\")
" | sort | uniq -c
echo "## credential_process quick start"
mkdir -p $Q/aws && cat > $Q/aws/config <<CFG
[profile lake]
credential_process = $Q/venv/bin/rolebridge credential-process --role-arn $ROLE --external-id $EXT --region us-east-1 --sts-endpoint $EP
region = us-east-1
CFG
sed "s/$EXT/***/" $Q/aws/config
"$Q/venv/bin/pip" install -q --disable-pip-version-check --no-index --find-links "$WHEELHOUSE" boto3 >/dev/null
AWS_CONFIG_FILE=$Q/aws/config "$Q/venv/bin/python" -c "
import boto3
s = boto3.Session(profile_name='lake')
print(s.client('sts', endpoint_url='$EP').get_caller_identity()['Arn'])
print([o['Key'] for o in s.client('s3', endpoint_url='$EP').list_objects_v2(Bucket='$B', Prefix='etl/').get('Contents', [])])"
