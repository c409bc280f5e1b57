#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/serve/test_page.py), from the distribution's
# packages: nothing is downloaded by Playwright. Never fails the build: without root or
# passwordless sudo, or offline, it says why and the browser tests skip.
set -u

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" = "0" ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root="sudo -n"
else
    echo "install_browser: /usr/bin/chromium is missing and we are not root (no passwordless" \
        "sudo either); the browser tests will be skipped. Install it with: apt-get install chromium"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: no apt-get here; install chromium at /usr/bin/chromium by hand," \
        "or the browser tests will be skipped."
    exit 0
fi
echo "install_browser: installing Debian's chromium for the browser tests..."
if $as_root apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends \
        chromium fonts-liberation >/dev/null; then
    echo "install_browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium installed)"
else
    echo "install_browser: apt-get could not install chromium; the browser tests will be skipped."
fi
exit 0
