#!/usr/bin/env bash
# Make sure PLINK 2 is on PATH: the GWAS tests compare promise's regressions with `plink2 --glm`
# (an independent implementation) and benchmarks/gwas.py times it. CI machines start without it,
# so `make test` calls this script. As root it installs Debian's package; otherwise it says how.
set -euo pipefail
if command -v plink2 >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "plink2 is missing: installing the Debian package plink2 ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq plink2 >/dev/null
    command -v plink2 >/dev/null 2>&1 && exit 0
fi
echo "plink2 is missing and could not be installed: run 'sudo apt-get install -y plink2' (Debian/Ubuntu)." >&2
exit 1
