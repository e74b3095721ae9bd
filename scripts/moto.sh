# Sourced by scripts/test and scripts/bench-aws: installs moto[server]==5.2.5 (plus any extra
# packages named in $ROLLOUT_EXTRA_PIP) into .venv, starts it on a free loopback port, switches
# Lambda to its no-Docker backend and Step Functions to executing state machines, creates the test
# roles, and exports ROLLOUT_MOTO_ENDPOINT.
# The server stops when the sourcing script exits.

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

port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p target
# MOTO_PORT: the Step Functions interpreter calls moto's own Lambda and CloudWatch on this port.
MOTO_PORT="$port" "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" > target/moto.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT

export ROLLOUT_MOTO_ENDPOINT="http://127.0.0.1:$port"
"$venv/bin/python" - "$ROLLOUT_MOTO_ENDPOINT" <<'PY'
import json, sys, time, urllib.request
import boto3

endpoint = sys.argv[1]
for _ in range(150):
    try:
        urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit("error: moto_server did not start on " + endpoint + "; see target/moto.log")
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
PY
echo "moto_server on $ROLLOUT_MOTO_ENDPOINT" >&2
