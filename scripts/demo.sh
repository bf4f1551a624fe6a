#!/usr/bin/env bash
# TicketFlow demo: walks one booking end to end through the real REST API with curl and jq, shows
# where it left traces (the confirmation email in Mailpit, the workflow in Temporal, the six
# contract topics in Kafka), then books with a declined card and shows its seat freed again.
# Every step prints what it sent and what came back; any unexpected answer stops it with exit 1.
#
#   make run            # in another terminal: the local stack
#   make demo           # or: bash scripts/demo.sh
#
# Environment (defaults are the local stack of `make run`):
#   GATEWAY_URL        http://127.0.0.1:3000
#   MAILPIT_URL        http://127.0.0.1:8025
#   TEMPORAL_ADDRESS   127.0.0.1:7233      TEMPORAL_NAMESPACE default
#   KAFKA_BROKERS      127.0.0.1:59092
#   TEMPORAL_CLI       .tools/bin/temporal (installed by `make tools`)
#   EVENT_ID           book this event instead of the first one with three free seats
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GATEWAY_URL=${GATEWAY_URL:-http://127.0.0.1:3000}
GATEWAY_URL=${GATEWAY_URL%/}
MAILPIT_URL=${MAILPIT_URL:-http://127.0.0.1:8025}
MAILPIT_URL=${MAILPIT_URL%/}
TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:7233}
TEMPORAL_NAMESPACE=${TEMPORAL_NAMESPACE:-default}
KAFKA_BROKERS=${KAFKA_BROKERS:-127.0.0.1:59092}
TEMPORAL_CLI=${TEMPORAL_CLI:-$ROOT/.tools/bin/temporal}
EVENT_ID=${EVENT_ID:-}

TOPICS=(user.registered booking.initiated seats.locked payment.requested payment.processed booking.confirmed)

# ---------------------------------------------------------------------------- helpers

die() { echo "demo: FAILED: $*" >&2; exit 1; }

for tool in curl jq kcat; do
	command -v "$tool" >/dev/null ||
		die "$tool is missing; install it with: sudo apt-get install -y $tool (make tools does it)"
done
[ -x "$TEMPORAL_CLI" ] || die "the Temporal CLI is missing at $TEMPORAL_CLI; run make tools (or set TEMPORAL_CLI)"

BOLD="" PLAIN=""
[ -t 1 ] && BOLD=$'\033[1m' PLAIN=$'\033[0m'
n=0
step() {
	n=$((n + 1))
	printf '\n%s== %d. %s%s\n' "$BOLD" "$n" "$*" "$PLAIN"
}
info() { printf '   %s\n' "$*"; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# api METHOD PATH [JSON] : calls the gateway with $TOKEN (if set); sets STATUS and BODY.
api() {
	local method=$1 path=$2 data=${3:-}
	local args=(-sS --max-time 30 -o "$TMP/body" -w '%{http_code}' -X "$method" -H 'Accept: application/json')
	[ -n "${TOKEN:-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
	[ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data "$data")
	[ -n "${IDEMPOTENCY_KEY:-}" ] && args+=(-H "Idempotency-Key: $IDEMPOTENCY_KEY")
	STATUS=$(curl "${args[@]}" "$GATEWAY_URL$path") || die "$method $GATEWAY_URL$path: no answer (is the stack running?)"
	BODY=$(cat "$TMP/body")
}

# expect WANT : stops unless the last answer had status WANT (prints the error envelope if any).
expect() {
	[ "$STATUS" = "$1" ] && return 0
	die "expected HTTP $1, got $STATUS: $(jq -c . <<<"$BODY" 2>/dev/null || echo "$BODY")"
}

# show JQ : prints the last answer's body through a jq filter, indented.
show() { jq -r "$1" <<<"$BODY" | sed 's/^/   /'; }

# wait_booking ID : polls the booking every second (30 s at most) until it leaves PENDING.
wait_booking() {
	local id=$1 seen=PENDING status
	for _ in $(seq 1 30); do
		api GET "/api/bookings/$id"
		expect 200
		status=$(jq -r .status <<<"$BODY")
		[ "$status" != PENDING ] && { info "status: $seen → $status"; return 0; }
		sleep 1
	done
	die "booking $id is still PENDING after 30 s"
}

seat_status() { jq -r --arg id "$1" '.seats[] | select(.id == $id) | .status' <<<"$SEATS"; }

# ---------------------------------------------------------------------------- the walk

step "The stack is up: GET /health/all"
api GET /health/all
expect 200
show '"gateway \(.gateway); " + ([.services[] | "\(.name) \(.status)"] | join(", "))'

step "Register a buyer: POST /api/users/register"
EMAIL="demo-$(date +%s)-$RANDOM@example.com"
PASSWORD="demo-password-$RANDOM"
api POST /api/users/register "$(jq -nc --arg e "$EMAIL" --arg p "$PASSWORD" '{name: "Demo Buyer", email: $e, password: $p}')"
expect 201
USER_ID=$(jq -r .user.id <<<"$BODY")
show '"201 user \(.user.id) \(.user.email) role \(.user.role)"'

step "Log in: POST /api/users/login"
api POST /api/users/login "$(jq -nc --arg e "$EMAIL" --arg p "$PASSWORD" '{email: $e, password: $p}')"
expect 200
TOKEN=$(jq -r .token <<<"$BODY")
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "login answered no token: $BODY"
show '"200 token \(.token[0:24])… expires \(.expiresAt)"'

step "List events: GET /api/events (pages of 100)"
: >"$TMP/events"
for page in 1 2 3; do
	api GET "/api/events?limit=100&page=$page"
	expect 200
	jq -c '.events[]' <<<"$BODY" >>"$TMP/events"
	[ "$(jq '.page * .limit < .total' <<<"$BODY")" = true ] || break
done
# Events behind a waiting room need a place in its line first (README, "Waiting room"): the demo
# books one without.
EVENTS=$(jq -s 'map(select(.waitingRoom.enabled != true)) | sort_by(-.seatCount)' "$TMP/events")
info "$(jq -r .total <<<"$BODY") events; the largest without a waiting room:"
jq -r '.[0:5][] | "     \(.name) · \(.date) · \(.seatCount) seats · \(.id)"' <<<"$EVENTS"
if [ -n "$EVENT_ID" ]; then
	CANDIDATES=$EVENT_ID
else
	CANDIDATES=$(jq -r 'map(select(.seatCount >= 3)) | .[0:10][] | .id' <<<"$EVENTS")
fi

step "Pick two AVAILABLE seats from a seat map: GET /api/inventory/events/{id}/seats"
TOKEN_SAVE=$TOKEN
TOKEN= # the seat map is public
EVENT=""
for id in $CANDIDATES; do
	api GET "/api/inventory/events/$id/seats"
	expect 200
	if [ "$(jq '[.seats[] | select(.status == "AVAILABLE")] | length' <<<"$BODY")" -ge 3 ]; then
		EVENT=$id
		break
	fi
done
TOKEN=$TOKEN_SAVE
[ -n "$EVENT" ] || die "none of the 10 largest events has three AVAILABLE seats; create one or set EVENT_ID"
SEATS=$BODY
read -r SEAT1 SEAT2 SEAT3 < <(jq -r '[.seats[] | select(.status == "AVAILABLE") | .id][0:3] | join(" ")' <<<"$SEATS")
show '"event \(.seats[0].eventId): \(.total) seats, \(.summary.available) available, \(.summary.locked) locked, \(.summary.reserved) reserved"'
jq -r --arg a "$SEAT1" --arg b "$SEAT2" '.seats[] | select(.id == $a or .id == $b) |
	"   picked \(.id) (\(.label), \(.priceMinor) minor units) \(.status)"' <<<"$SEATS"

step "Book them with tok_visa: POST /api/bookings (expect 202 PENDING)"
IDEMPOTENCY_KEY="demo-$(date +%s)-$RANDOM"
api POST /api/bookings "$(jq -nc --arg e "$EVENT" --arg a "$SEAT1" --arg b "$SEAT2" \
	'{eventId: $e, seatIds: [$a, $b], paymentMethod: {type: "card", token: "tok_visa"}}')"
IDEMPOTENCY_KEY=
expect 202
BOOKING=$(jq -r .id <<<"$BODY")
[ "$(jq -r .status <<<"$BODY")" = PENDING ] || die "a new booking is not PENDING: $BODY"
show '"202 booking \(.id) \(.status) · \(.eventName) · seats \(.seatIds | join(", ")) · \(.totalAmount) \(.currency) · hold until \(.holdExpiresAt)"'

step "Poll GET /api/bookings/$BOOKING until it is CONFIRMED"
wait_booking "$BOOKING"
[ "$(jq -r .status <<<"$BODY")" = CONFIRMED ] || die "booking ended $(jq -c '{status, failureReason}' <<<"$BODY"), want CONFIRMED"
show '"confirmed · payment \(.paymentId) · \(.amountMinor) minor units \(.currency)"'
TOKEN_SAVE=$TOKEN TOKEN=
api GET "/api/inventory/events/$EVENT/seats"
TOKEN=$TOKEN_SAVE
expect 200
SEATS=$BODY
[ "$(seat_status "$SEAT1") $(seat_status "$SEAT2")" = "RESERVED RESERVED" ] ||
	die "the seats of a CONFIRMED booking are $(seat_status "$SEAT1") $(seat_status "$SEAT2"), want RESERVED"
info "seat map: $SEAT1 and $SEAT2 are RESERVED"

step "My bookings: GET /api/bookings/my"
api GET /api/bookings/my
expect 200
jq -e --arg id "$BOOKING" 'map(.id) | index($id) != null' <<<"$BODY" >/dev/null || die "my bookings lack $BOOKING: $BODY"
show '.[] | "\(.createdAt) \(.id) \(.status) \(.eventName) \(.seatIds | join(","))"'

step "The confirmation email, from the Mailpit API (to:$EMAIL)"
MAIL=""
for _ in $(seq 1 30); do
	MAIL=$(curl -sS --max-time 10 -G "$MAILPIT_URL/api/v1/search" --data-urlencode "query=to:\"$EMAIL\" subject:confirmed" |
		jq -r '.messages[0].ID // empty') || die "Mailpit at $MAILPIT_URL does not answer"
	[ -n "$MAIL" ] && break
	sleep 1
done
[ -n "$MAIL" ] || die "no confirmation email to $EMAIL in Mailpit after 30 s"
MESSAGE=$(curl -sS --max-time 10 "$MAILPIT_URL/api/v1/message/$MAIL")
jq -r '"   From: \(.From.Address)\n   To: \([.To[].Address] | join(", "))\n   Subject: \(.Subject)\n"' <<<"$MESSAGE"
jq -r .Text <<<"$MESSAGE" | sed 's/^/   | /'
jq -r .Text <<<"$MESSAGE" | grep -q "$BOOKING" || die "the confirmation email does not name booking $BOOKING"

step "The workflow in Temporal: temporal workflow list --query 'BookingId=\"$BOOKING\"'"
for i in $(seq 1 20); do
	OUT=$("$TEMPORAL_CLI" workflow list --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" \
		--query "BookingId=\"$BOOKING\"" 2>&1) || die "temporal workflow list failed: $OUT"
	grep -q "booking-$BOOKING" <<<"$OUT" && break
	[ "$i" = 20 ] && die "Temporal lists no workflow for BookingId=$BOOKING: $OUT"
	sleep 1
done
sed 's/^/   /' <<<"$OUT"

step "Its messages on the six contract topics (kcat, key = booking id; user.registered by user id)"
for topic in "${TOPICS[@]}"; do
	key=$BOOKING
	[ "$topic" = user.registered ] && key=$USER_ID
	FOUND=""
	for _ in $(seq 1 15); do
		FOUND=$(kcat -b "$KAFKA_BROKERS" -C -t "ticketflow.$topic" -o beginning -e -q -f '%k\t%s\n' 2>&1 |
			awk -F'\t' -v k="$key" '$1 == k { sub(/^[^\t]*\t/, ""); print }') || die "kcat on ticketflow.$topic failed"
		[ -n "$FOUND" ] && break
		sleep 1
	done
	[ -n "$FOUND" ] || die "no message keyed $key on ticketflow.$topic"
	printf '   ticketflow.%s (key %s)\n' "$topic" "$key"
	jq -c '{eventType, eventId, payload}' <<<"$FOUND" | sed 's/^/      /'
done

step "A declined card: book $SEAT3 with tok_chargeDeclined (expect 202, then FAILED)"
api POST /api/bookings "$(jq -nc --arg e "$EVENT" --arg a "$SEAT3" \
	'{eventId: $e, seatIds: [$a], paymentMethod: {type: "card", token: "tok_chargeDeclined"}}')"
expect 202
DECLINED=$(jq -r .id <<<"$BODY")
show '"202 booking \(.id) \(.status) · seats \(.seatIds | join(", "))"'
wait_booking "$DECLINED"
[ "$(jq -r .status <<<"$BODY")" = FAILED ] || die "the declined booking ended $(jq -c '{status, failureReason}' <<<"$BODY"), want FAILED"
show '"FAILED: \(.failureReason)"'
for _ in $(seq 1 10); do
	TOKEN_SAVE=$TOKEN TOKEN=
	api GET "/api/inventory/events/$EVENT/seats"
	TOKEN=$TOKEN_SAVE
	expect 200
	SEATS=$BODY
	[ "$(seat_status "$SEAT3")" = AVAILABLE ] && break
	sleep 1
done
[ "$(seat_status "$SEAT3")" = AVAILABLE ] || die "the seat of a FAILED booking is $(seat_status "$SEAT3"), want AVAILABLE"
info "seat map: $SEAT3 is AVAILABLE again"

printf '\n%sDemo complete.%s Booking %s CONFIRMED (workflow booking-%s), booking %s FAILED; buyer %s.\n' \
	"$BOLD" "$PLAIN" "$BOOKING" "$BOOKING" "$DECLINED" "$EMAIL"
