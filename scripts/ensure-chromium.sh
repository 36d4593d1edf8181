#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (never a downloaded browser build):
# install the `chromium` package when /usr/bin/chromium is missing. Called by `make test`.
# Needs root (CI and the development machines run as root); apt waits for a lock held by another
# installer instead of failing.
set -euo pipefail

CHROMIUM=${AIGOV_CHROMIUM:-/usr/bin/chromium}
if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium and set AIGOV_CHROMIUM" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) != 0 ]]; then
  SUDO="sudo"
fi
echo "ensure-chromium: installing Debian's chromium package (browser tests) ..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
"$CHROMIUM" --version
