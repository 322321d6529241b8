#!/bin/sh
# Regenerates signatures/geo/location.bin, the geo table compiled into
# leakwatch, from the IPFire location database (https://location.ipfire.org).
#
# Needs the Debian/Ubuntu packages `location` (the CLI) and `libloc-database`
# (a snapshot of the database):   apt-get install location libloc-database
# For fresher data run `location update` first (downloads and verifies the
# signed database) or pass a database file with LOCATION_DB=PATH.
#
# The export takes a few minutes (one pass per country). Set EXPORT_DIR to an
# existing `location export --format list` output to skip it.
set -eu
cd "$(dirname "$0")/.."
out=signatures/geo/location.bin
db_opt=""
[ -n "${LOCATION_DB:-}" ] && db_opt="--database $LOCATION_DB"
command -v location >/dev/null || { echo "install the 'location' package" >&2; exit 1; }
if [ -z "${EXPORT_DIR:-}" ]; then
    EXPORT_DIR=$(mktemp -d)
    trap 'rm -rf "$EXPORT_DIR"' EXIT
    # shellcheck disable=SC2086
    location $db_opt export --format list --directory "$EXPORT_DIR"
fi
# shellcheck disable=SC2086
version=$(location $db_opt version)
pkg=$(dpkg-query -W -f '${Version}' libloc-database 2>/dev/null || echo unknown)
tool=$(location --version | cut -d' ' -f2)
python3 scripts/geo-encode.py "$EXPORT_DIR" "$out" \
    "IPFire location database (Debian libloc-database $pkg), location $tool export --format list" \
    "$version"
echo "now update the date in docs/policy.md (Geo data) and run: cargo test policy::geo"
