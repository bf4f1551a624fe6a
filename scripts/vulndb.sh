#!/usr/bin/env bash
# Builds the Go vulnerability database that `make vuln` gives govulncheck (-db file://...), from
# the golang.org/x/vulndb module as the Go module proxy serves it: vuln.go.dev itself cannot be
# reached from these machines. The module carries every report as OSV JSON (data/osv); its
# cmd/gendb writes the database from a git checkout of them (it dates entries from the commits),
# so the reports are committed to a throwaway repository first.
#
#   scripts/vulndb.sh <vulndb version> <output dir>
#
# Idempotent: an existing <output dir>/index/db.json is kept. To move to newer reports, raise
# VULNDB_VERSION in the Makefile (go list -m -versions cannot list a pseudo-version module;
# `go list -m golang.org/x/vulndb@latest` names the newest).
set -euo pipefail

version=${1:?usage: vulndb.sh <golang.org/x/vulndb version> <output dir>}
out=${2:?usage: vulndb.sh <golang.org/x/vulndb version> <output dir>}
GO=${GO:-go}

if [ -f "$out/index/db.json" ]; then
	echo "vulnerability database $version is in $out"
	exit 0
fi

began=$(date +%s)
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

echo "building the vulnerability database from golang.org/x/vulndb@$version (about 2 minutes, once)"
src=$("$GO" mod download -json "golang.org/x/vulndb@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src/data/osv" ] || { echo "vulndb.sh: no data/osv in golang.org/x/vulndb@$version ($src)" >&2; exit 1; }

GOBIN="$work/bin" "$GO" install "golang.org/x/vulndb/cmd/gendb@$version"

repo="$work/repo"
mkdir -p "$repo/data"
cp -r "$src/data/osv" "$repo/data/osv"
chmod -R u+w "$repo"
# The commit's date (the pseudo-version's timestamp) stands for a report's publication where the
# report names none.
ts=${version#v0.0.0-}
ts=${ts%%-*}
stamp="${ts:0:4}-${ts:4:2}-${ts:6:2}T${ts:8:2}:${ts:10:2}:${ts:12:2}Z"
git -C "$repo" init -q
git -C "$repo" add data/osv
GIT_AUTHOR_DATE=$stamp GIT_COMMITTER_DATE=$stamp \
	git -C "$repo" -c user.name=vulndb -c user.email=vulndb@localhost -c commit.gpgsign=false \
	commit -q -m "golang.org/x/vulndb@$version data/osv"

"$work/bin/gendb" -repo "$repo" -out "$work/db" 2>&1 | grep -v '^.* INFO ' || true
[ -f "$work/db/index/db.json" ] || { echo "vulndb.sh: gendb wrote no database" >&2; exit 1; }

mkdir -p "$(dirname "$out")"
rm -rf "$out"
mv "$work/db" "$out"
echo "vulnerability database $version ready in $out ($(du -sh "$out" | cut -f1), $(( $(date +%s) - began ))s)"
