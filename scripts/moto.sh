# Sourced by scripts/test and scripts/bench-aws: installs moto[server]==5.2.5 (plus any extra
# packages named in $ROLLOUT_EXTRA_PIP) into .venv, starts it on a free loopback port, switches
# Lambda to its no-Docker backend and Step Functions to executing state machines, creates the test
# roles, and exports ROLLOUT_MOTO_ENDPOINT; starts scripts/throttle_proxy.py between the Step Functions
# interpreter and moto and exports ROLLOUT_THROTTLE_CONTROL, where tests set its rules. Source
# scripts/validators.sh first: moto's Step Functions evaluate JSONata with what it installs.
# Both stop when the sourcing script exits.

venv="${ROLLOUT_VENV:-.venv}"
need=("moto[server]==5.2.5" ${ROLLOUT_EXTRA_PIP:-})
if ! "$venv/bin/python" -c 'import moto, flask; assert moto.__version__ == "5.2.5"' 2>/dev/null \
  || { [ -n "${ROLLOUT_EXTRA_PIP:-}" ] && [ ! -x "$venv/bin/aws" ]; }; then
  echo "installing ${need[*]} into $venv" >&2
  python3 -m venv "$venv"
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "${need[@]}"; then
    echo "error: could not install ${need[*]} from PyPI into $venv; the AWS end-to-end tests need moto" >&2
    echo "       (by hand: python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5')" >&2
    exit 1
  fi
fi

free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
port="$(free_port)"
proxy_port="$(free_port)"
while [ "$proxy_port" = "$port" ]; do proxy_port="$(free_port)"; done
mkdir -p target
# MOTO_PORT: the Step Functions interpreter calls its aws-sdk tasks (Lambda, CloudWatch, SSM) on
# this port: the throttling proxy's, which forwards them to moto unless a test has told it to
# answer some as AWS answers a throttled call (scripts/throttle_proxy.py). The tests' own calls
# and rollout's go to moto directly.
# scripts/moto_server.py is moto_server with the JSONata of Step Functions evaluated by the jsonata
# package AWS runs (moto's own is a stub); it needs ROLLOUT_JSONATA_MODULE (scripts/validators.sh).
MOTO_PORT="$proxy_port" "$venv/bin/python" scripts/moto_server.py -H 127.0.0.1 -p "$port" > target/moto.log 2>&1 &
moto_pid=$!
"$venv/bin/python" scripts/throttle_proxy.py "$proxy_port" "http://127.0.0.1:$port" \
  > target/throttle-proxy.log 2>&1 &
proxy_pid=$!
trap 'kill "$moto_pid" "$proxy_pid" 2>/dev/null || true' EXIT

export ROLLOUT_THROTTLE_CONTROL="http://127.0.0.1:$proxy_port/__rules"
export ROLLOUT_MOTO_ENDPOINT="http://127.0.0.1:$port"
# Fails (and so does the sourcing script) when moto or the proxy does not come up.
"$venv/bin/python" - "$ROLLOUT_MOTO_ENDPOINT" "$ROLLOUT_THROTTLE_CONTROL" <<'PY' || exit 1
import json, sys, time, urllib.request
import boto3

endpoint, control = sys.argv[1], sys.argv[2]
for _ in range(150):
    try:
        urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit("error: moto_server did not start on " + endpoint + "; see target/moto.log")
for _ in range(50):
    try:
        urllib.request.urlopen(control, timeout=1)
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit("error: the throttling proxy did not start on " + control
             + "; see target/throttle-proxy.log")
request = urllib.request.Request(
    endpoint + "/moto-api/config",
    data=json.dumps({"lambda": {"use_docker": False}}).encode(),
    headers={"Content-Type": "application/json"},
    method="POST",
)
urllib.request.urlopen(request, timeout=5)
# Step Functions executions run their states (aws-sdk tasks against this server, waits, choices).
request = urllib.request.Request(
    endpoint + "/moto-api/config",
    data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
    headers={"Content-Type": "application/json"},
    method="POST",
)
urllib.request.urlopen(request, timeout=5)
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
trust = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})
for role in ("rollout-test", "rollout-other"):
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
# A second account for the waves tests, reached as `rollout` reaches it: through its role
# `rollout`, trusted by the first account. Its functions run as its own `rollout-test`.
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
keys = sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/rollout",
                       RoleSessionName="setup")["Credentials"]
other = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id=keys["AccessKeyId"],
                     aws_secret_access_key=keys["SecretAccessKey"],
                     aws_session_token=keys["SessionToken"])
other.create_role(RoleName="rollout-test", AssumeRolePolicyDocument=trust)
other.create_role(RoleName="rollout", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                   "Action": "sts:AssumeRole"}],
}))
PY
echo "moto_server on $ROLLOUT_MOTO_ENDPOINT, its Step Functions tasks through $ROLLOUT_THROTTLE_CONTROL" >&2
