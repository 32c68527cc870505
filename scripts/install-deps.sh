#!/usr/bin/env bash
# Installs the Debian packages snapdelta needs to build and test, skipping those already present.
# Called by `make build`; safe to run again. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libisal-dev isal zlib1g-dev libzstd-dev zstd libxxhash-dev libsqlite3-dev sqlite3
  libcli11-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcurl4-openssl-dev libpugixml-dev libssl-dev
  librdkafka-dev kcat libsimdjson-dev
  libpq-dev postgresql postgresql-client libcpp-httplib-dev libjemalloc-dev
  python3-prometheus-client python3-yaml
  chromium nodejs
  jq bc
)

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The S3/SQS tests (tests/cloud) run against moto_server, the AWS mock, and check results with the
# AWS CLI. Both come from PyPI, which may be unreachable: a failure here only means those tests
# are skipped, so it is not fatal.
pip_cmd=""
for candidate in pip3 pip; do
  if command -v "$candidate" >/dev/null 2>&1; then pip_cmd="$candidate"; break; fi
done
python_packages=()
command -v moto_server >/dev/null 2>&1 || python_packages+=("moto[server]==5.2.*")
command -v aws >/dev/null 2>&1 || python_packages+=("awscli")
if [ ${#python_packages[@]} -gt 0 ]; then
  if [ -z "$pip_cmd" ]; then
    echo "install-deps: no pip to install ${python_packages[*]}: the S3/SQS tests will be" \
      "skipped" >&2
  elif ! "$pip_cmd" install --quiet "${python_packages[@]}"; then
    echo "install-deps: could not install ${python_packages[*]} with $pip_cmd (is PyPI" \
      "reachable? a system Python may need a virtualenv); the S3/SQS tests will be skipped" >&2
  fi
fi
# The AWS CLI is also a Debian package: the fallback when PyPI could not provide it.
if ! command -v aws >/dev/null 2>&1; then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    awscli >/dev/null 2>&1 || echo "install-deps: no AWS CLI: the S3/SQS tests will be skipped" >&2
fi
# The status page's browser test drives Debian's chromium with playwright-core, from npm
# (tests/browser/package-lock.json pins it).
browser_dir="$(dirname "$0")/../tests/browser"
if [ ! -d "$browser_dir/node_modules/playwright-core" ]; then
  if command -v npm >/dev/null 2>&1; then
    (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error) ||
      echo "install-deps: npm could not install playwright-core: the browser test will fail" >&2
  else
    echo "install-deps: no npm to install playwright-core: the browser test will fail" >&2
  fi
fi
exit 0
