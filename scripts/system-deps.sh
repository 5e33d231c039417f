#!/usr/bin/env bash
# Debian packages govkit needs at run time (PDF rendering) and in tests (poppler tools, a PostgreSQL
# server the tests start on loopback themselves).
# Installed only when running as root with apt-get available and a package is missing;
# elsewhere this prints what to install and carries on.
set -euo pipefail
# fonts-wqy-microhei and fonts-symbola: CJK and emoji glyphs for user text in reports (without them such
# text prints as empty boxes, and PDF text extraction loses the whole page)
packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-wqy-microhei fonts-symbola
  poppler-utils openssl postgresql)
# Spark (tests of the Spark cohort engine) needs a Java runtime; any 17+ already on PATH will do.
command -v java >/dev/null || packages+=(openjdk-17-jre-headless)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "note: missing Debian packages (install them for PDF features): ${missing[*]}" >&2
fi
