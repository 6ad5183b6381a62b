#!/usr/bin/env bash
# Make sure ReadStat's command-line tool `readstat` is on PATH: `promise synth --format sas|stata`
# and the SAS/Stata ingest tests write their .sas7bdat and .dta files with it (a writer apart
# from pandas and from promise's reader). CI machines start without it, so `make test` calls
# this script. As root it installs Debian's package; otherwise it says how.
set -euo pipefail
if command -v readstat >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "readstat is missing: installing the Debian package readstat ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq readstat >/dev/null
    command -v readstat >/dev/null 2>&1 && exit 0
fi
echo "readstat is missing and could not be installed: run 'sudo apt-get install -y readstat' (Debian/Ubuntu)." >&2
exit 1
