#!/usr/bin/env bash
# Debian's chromium, for the dashboard's browser test (tests/test_dashboard_browser.py).
# Playwright drives this binary and never downloads a browser of its own.
# Safe to run again: it does nothing when chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-browser: run as root (or with sudo) to apt-get install chromium" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y chromium
echo "install-browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) installed"
