# Sourced by scripts/test: installs the validators of what `rollout export` writes, as the
# end-to-end tests run them: cfn-lint (PyPI) into the venv moto lives in, and asl-validator (npm,
# the reference validator of the Amazon States Language) into target/node, and jsonata (npm, the
# version Step Functions evaluates) beside it. Exports ROLLOUT_CFN_LINT and ROLLOUT_ASL_VALIDATOR,
# the commands the tests run, and ROLLOUT_JSONATA_MODULE, what scripts/jsonata.js evaluates with.

venv="${ROLLOUT_VENV:-.venv}"
cfn_lint_version="1.58.0"
asl_validator_version="4.0.0"
jsonata_version="2.0.6"
if [ ! -x "$venv/bin/pip" ]; then
  echo "creating the Python venv $venv (moto and cfn-lint live in it)" >&2
  if ! python3 -m venv "$venv"; then
    echo "error: could not create $venv with python3 -m venv (Debian: apt-get install python3-venv)" >&2
    exit 1
  fi
fi
if ! "$venv/bin/cfn-lint" --version 2>/dev/null | grep -q "$cfn_lint_version"; then
  echo "installing cfn-lint==$cfn_lint_version into $venv" >&2
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$cfn_lint_version"; then
    echo "error: could not install cfn-lint from PyPI into $venv; the export tests validate templates with it" >&2
    exit 1
  fi
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "installing node and npm (Debian's packages) for asl-validator" >&2
  if [ "$(id -u)" = 0 ]; then apt_get=(apt-get); else apt_get=(sudo apt-get); fi
  if ! { DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -q nodejs npm >/dev/null 2>&1 \
        || { "${apt_get[@]}" update -q >/dev/null 2>&1 \
             && DEBIAN_FRONTEND=noninteractive "${apt_get[@]}" install -y -q nodejs npm >/dev/null 2>&1; }; }; then
    echo "error: could not install npm; the export tests validate definitions with asl-validator (npm)" >&2
    exit 1
  fi
fi
node_dir="target/node"
if ! "$node_dir/node_modules/.bin/asl-validator" --version 2>/dev/null | grep -q "$asl_validator_version"; then
  echo "installing asl-validator@$asl_validator_version into $node_dir" >&2
  mkdir -p "$node_dir"
  if ! npm install --silent --no-audit --no-fund --prefix "$node_dir" "asl-validator@$asl_validator_version" >/dev/null; then
    echo "error: could not install asl-validator from npm; the export tests validate definitions with it" >&2
    exit 1
  fi
fi
if ! grep -q "\"version\": \"$jsonata_version\"" "$node_dir/node_modules/jsonata/package.json" 2>/dev/null; then
  echo "installing jsonata@$jsonata_version into $node_dir" >&2
  if ! npm install --silent --no-audit --no-fund --save-exact --prefix "$node_dir" "jsonata@$jsonata_version" >/dev/null; then
    echo "error: could not install jsonata from npm; the tests evaluate the exported judge with it" >&2
    exit 1
  fi
fi
export ROLLOUT_JSONATA_MODULE="$PWD/$node_dir/node_modules/jsonata"
# ROLLOUT_VENV may be absolute (a venv shared between checkouts) or relative to here.
case "$venv" in
  /*) export ROLLOUT_CFN_LINT="$venv/bin/cfn-lint" ;;
  *) export ROLLOUT_CFN_LINT="$PWD/$venv/bin/cfn-lint" ;;
esac
export ROLLOUT_ASL_VALIDATOR="$PWD/$node_dir/node_modules/.bin/asl-validator"
