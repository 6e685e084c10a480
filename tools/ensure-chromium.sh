#!/usr/bin/env bash
# Headless Chromium for the report test (tests/test_report_html.py opens report.html in it).
#
# Installs Debian's `chromium` package only when all of these hold: it is missing, we run as
# root, apt-get exists, and we are in CI ($CI set, as .ci/run does) or $ECMSIM_INSTALL_CHROMIUM=1.
# Otherwise it only says what is missing: the test then skips with that reason. Cost measured
# on this project's Debian image: apt-get update + install 27 s, 115 packages, 479 MB on disk.
set -uo pipefail
for name in chromium chromium-browser google-chrome; do
    command -v "$name" >/dev/null 2>&1 && exit 0
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && { [ -n "${CI:-}" ] || [ "${ECMSIM_INSTALL_CHROMIUM:-}" = 1 ]; }; then
    echo "[setup] installing chromium (headless browser for the report test, about 30 s)" >&2
    export DEBIAN_FRONTEND=noninteractive
    if apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; then
        exit 0
    fi
    echo "[setup] could not install chromium: the browser tests will fail in CI" >&2
    exit 0
fi
echo "[setup] no chromium: the report's browser test will skip (CI installs it; or: apt-get install chromium)" >&2
exit 0
