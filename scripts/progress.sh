#!/usr/bin/env bash
# progress.sh PHASE TOTAL UNIT -- COMMAND...
#
# Runs COMMAND (a tool build: go build -v, go install -v, mvn, npm) with its output in a log, and
# prints a progress line every second while it works: the phase, the units done (each line the
# command printed: a package compiled, an artifact fetched) of TOTAL (0: unknown) and the rate. At
# the end, a final line; when the command fails, the last lines of its log, and its exit status.
set -u
phase=$1 total=$2 unit=$3
shift 3
[ "${1:-}" = "--" ] && shift
log=$(mktemp -t progress.XXXXXX)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
"$@" >"$log" 2>&1 &
pid=$!
line() {
	local done elapsed rate
	done=$(wc -l <"$log")
	elapsed=$(($(date +%s) - start))
	rate=$(awk -v d="$done" -v e="$elapsed" 'BEGIN { if (e > 0) printf "%.1f", d / e; else printf "%d", d }')
	if [ "$total" -gt 0 ] 2>/dev/null; then
		printf '%s: %d/%d %s (%s/s), %ds%s\n' "$phase" "$done" "$total" "$unit" "$rate" "$elapsed" "$1"
	else
		printf '%s: %d %s (%s/s), %ds%s\n' "$phase" "$done" "$unit" "$rate" "$elapsed" "$1"
	fi
}
while kill -0 "$pid" 2>/dev/null; do
	sleep 1
	kill -0 "$pid" 2>/dev/null && line ""
done
wait "$pid"
status=$?
if [ "$status" -ne 0 ]; then
	line ", failed (exit status $status); last lines:"
	tail -n 30 "$log"
	exit "$status"
fi
line ", done"
