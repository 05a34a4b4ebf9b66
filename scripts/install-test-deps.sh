#!/usr/bin/env bash
# Installs, from Debian's packages, the real peers the end-to-end tests run against.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-deps.sh installs Debian packages: run it as root (sudo)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  kamailio sip-tester iproute2 util-linux openssl ca-certificates
