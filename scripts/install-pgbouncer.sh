#!/usr/bin/env bash
# Debian's pgbouncer, for the tests that run the service behind it (tests/test_pgbouncer.py,
# make test-pgbouncer). The tests start their own; the package's service is left stopped.
# Safe to run again: it does nothing when pgbouncer is already there.
set -euo pipefail

if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
  echo "install-pgbouncer: $( (pgbouncer --version 2>/dev/null || /usr/sbin/pgbouncer --version) | head -1) already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-pgbouncer: run as root (or with sudo) to apt-get install pgbouncer" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y pgbouncer
echo "install-pgbouncer: $(/usr/sbin/pgbouncer --version | head -1) installed"
