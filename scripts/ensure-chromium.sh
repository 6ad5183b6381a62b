#!/usr/bin/env bash
# Make sure headless Chromium is on PATH: tests/gwas/test_report_render.py renders the GWAS
# report.html in it and checks the screenshot shows a page. CI machines start without it,
# so `make test` calls this script. As root it installs Debian's package; otherwise it says how.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "chromium is missing: installing the Debian package chromium ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium >/dev/null
    command -v chromium >/dev/null 2>&1 && exit 0
fi
echo "chromium is missing and could not be installed: run 'sudo apt-get install -y chromium' (Debian/Ubuntu)." >&2
exit 1
