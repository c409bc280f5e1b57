#!/usr/bin/env bash
# Debian's chromium for the browser tests (tests/serve/test_page.py), from the distribution's
# packages: nothing is downloaded by Playwright. Never fails the build: without root or
# passwordless sudo, or offline, it says why and the browser tests skip.
set -u
source "$(dirname "$0")/_debian.sh"

if [ -x /usr/bin/chromium ]; then
    exit 0
fi
may_install install_browser /usr/bin/chromium "the browser tests" || exit 0
echo "install_browser: installing Debian's chromium for the browser tests..."
if apt_install chromium fonts-liberation; then
    echo "install_browser: $(/usr/bin/chromium --version 2>/dev/null || echo chromium installed)"
else
    echo "install_browser: apt-get could not install chromium; the browser tests will be skipped."
fi
exit 0
