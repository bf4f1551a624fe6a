//go:build integration

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"ticketflow/internal/admission"
	"ticketflow/internal/config"
	"ticketflow/tools/devstack"
)

// The waiting room (issue 25), on the real stack: the line in Redis shared by every gateway
// replica, the draw at opening, the meter, the Admission-Token the booking service checks.

// queuePlace is the answer of the queue endpoints.
type queuePlace struct {
	EventID              string     `json:"eventId"`
	State                string     `json:"state"`
	Number               *int64     `json:"number"`
	Position             *int64     `json:"position"`
	Ahead                *int64     `json:"ahead"`
	EstimatedWaitSeconds *int64     `json:"estimatedWaitSeconds"`
	OpensAt              time.Time  `json:"opensAt"`
	JoinedAt             time.Time  `json:"joinedAt"`
	AdmissionToken       string     `json:"admissionToken"`
	AdmittedUntil        *time.Time `json:"admittedUntil"`
	SoldOut              bool       `json:"soldOut"`
	StreamURL            string     `json:"streamUrl"`
	PollURL              string     `json:"pollUrl"`
}

func (p queuePlace) number() int64 {
	if p.Number == nil {
		return 0
	}
	return *p.Number
}

// roomEvent creates an event of `seats` seats whose waiting room is on (admitPerMinute 0: the
// automatic meter) and whose sales open at opens (whole seconds).
func roomEvent(t testing.TB, seats, admitPerMinute int, opens time.Time) eventView {
	t.Helper()
	room := map[string]any{"enabled": true}
	if admitPerMinute > 0 {
		room["admitPerMinute"] = admitPerMinute
	}
	return eventWith(t, seats, 1000, map[string]any{"waitingRoom": room,
		"salesStartAt": opens.UTC().Truncate(time.Second).Format(time.RFC3339)})
}

func queuePath(eventID string) string { return "/api/events/" + eventID + "/queue" }

func join(t testing.TB, c *client, eventID string) queuePlace {
	t.Helper()
	var p queuePlace
	c.expect(200, "POST", queuePath(eventID), nil, &p)
	return p
}

func placeOf(t testing.TB, c *client, eventID string) queuePlace {
	t.Helper()
	var p queuePlace
	c.expect(200, "GET", queuePath(eventID), nil, &p)
	return p
}

// admittedSoon polls the buyer's place (every 500 ms) until it is ADMITTED.
func admittedSoon(t testing.TB, c *client, eventID string, within time.Duration) queuePlace {
	t.Helper()
	var p queuePlace
	poll(t, within, 500*time.Millisecond, func() error {
		p = placeOf(t, c, eventID)
		if p.State != "ADMITTED" {
			return fmt.Errorf("place %+v, want ADMITTED", p)
		}
		return nil
	})
	return p
}

func buyers(t testing.TB, n int) []*client {
	out := make([]*client, n)
	for i := range out {
		out[i], _ = register(t)
	}
	return out
}

func TestWaitingRoomJoinIsIdempotent(t *testing.T) {
	t.Parallel()
	e := roomEvent(t, 10, 1, time.Now().Add(-time.Minute))
	var raw map[string]any
	newClient(t).expect(200, "GET", "/api/events/"+e.ID, nil, &raw)
	if room, _ := raw["waitingRoom"].(map[string]any); room["enabled"] != true || room["admitPerMinute"] != 1.0 {
		t.Fatalf("the event shows waitingRoom %v", raw["waitingRoom"])
	}
	bs := buyers(t, 2)
	ann, bob := bs[0], bs[1]
	first := join(t, ann, e.ID)
	if first.State != "ADMITTED" && first.State != "WAITING" || first.number() != 1 {
		t.Fatalf("first joiner: %+v", first)
	}
	b := join(t, bob, e.ID)
	if b.number() != 2 {
		t.Fatalf("second joiner: %+v", b)
	}
	for i := 0; i < 3; i++ {
		if again := join(t, bob, e.ID); again.number() != 2 || !again.JoinedAt.Equal(b.JoinedAt) {
			t.Fatalf("joining again: %+v, want the same place %+v", again, b)
		}
	}
	admittedSoon(t, ann, e.ID, 5*time.Second) // one a minute: the first at opening
	// A place is shown as of the line's summary the replica last read (once a tick), which may be
	// from just before ann's admission when another replica moved the line: bob is next within a
	// tick or two.
	poll(t, 2*time.Second, 100*time.Millisecond, func() error {
		if got := placeOf(t, bob, e.ID); got.number() != 2 || got.State != "WAITING" || got.Position == nil || *got.Position != 1 {
			return fmt.Errorf("GET: %+v (ann is let in at opening, bob is next)", got)
		}
		return nil
	})
	// Only one's own place: no token, no place; another's id in the path does not exist.
	refusedWith(t, newClient(t).do("GET", queuePath(e.ID), nil), 401, "UNAUTHORIZED")
	refusedWith(t, newClient(t).do("POST", queuePath(e.ID), nil), 401, "UNAUTHORIZED")
	stranger, _ := register(t)
	refusedWith(t, stranger.do("GET", queuePath(e.ID), nil), 404, "NOT_FOUND")
	refusedWith(t, stranger.do("DELETE", queuePath(e.ID), nil), 404, "NOT_FOUND")
	// An event without a room has no line, and reads as before rooms existed.
	plain := newEvent(t, 5, 1000)
	refusedWith(t, ann.do("POST", queuePath(plain.ID), nil), 404, "NOT_FOUND")
	var plainRaw map[string]any
	newClient(t).expect(200, "GET", "/api/events/"+plain.ID, nil, &plainRaw)
	if _, has := plainRaw["waitingRoom"]; has {
		t.Fatalf("an event without a room answers waitingRoom %v", plainRaw["waitingRoom"])
	}
	refusedWith(t, ann.do("POST", queuePath("not-an-id"), nil), 404, "NOT_FOUND")
	// A bad room is refused.
	adm := admin(t)
	refusedWith(t, adm.do("PUT", "/api/events/"+e.ID, map[string]any{"waitingRoom": map[string]any{"enabled": true, "admitPerMinute": 0}}),
		400, "VALIDATION_ERROR")
	refusedWith(t, adm.do("PUT", "/api/events/"+e.ID, map[string]any{"waitingRoom": map[string]any{"enabled": true, "extra": 1}}),
		400, "VALIDATION_ERROR")
}

// Buyers who join before the sale opens wait without a number; at opening they are drawn into a
// random order, and whoever joins after opening queues behind them all, in arrival order.
func TestWaitingRoomShufflesEarlyJoiners(t *testing.T) {
	t.Parallel()
	const early = 16
	cs := buyers(t, early+2)
	opens := time.Now().Add(12 * time.Second).Truncate(time.Second)
	e := roomEvent(t, 10, 1, opens) // one a minute: the line barely moves during the test
	for i, c := range cs[:early] {
		p := join(t, c, e.ID)
		if p.State != "WAITING" || p.Number != nil || p.Position != nil || !p.OpensAt.Equal(opens) {
			t.Fatalf("early joiner %d: %+v", i, p)
		}
	}
	if time.Now().After(opens) {
		t.Fatalf("joining took too long: the sale opened at %s", opens)
	}
	time.Sleep(time.Until(opens) + 300*time.Millisecond)
	late := []queuePlace{join(t, cs[early], e.ID), join(t, cs[early+1], e.ID)}
	if late[0].number() != early+1 || late[1].number() != early+2 {
		t.Fatalf("joiners after opening: %d and %d, want %d and %d", late[0].number(), late[1].number(), early+1, early+2)
	}
	numbers := make([]int64, early)
	for i, c := range cs[:early] {
		p := placeOf(t, c, e.ID)
		numbers[i] = p.number()
		if p.State == "WAITING" && (p.Position == nil || *p.Position != *p.Ahead+1) {
			t.Fatalf("drawn place %+v", p)
		}
	}
	sorted := slices.Clone(numbers)
	slices.Sort(sorted)
	for i, n := range sorted {
		if n != int64(i+1) {
			t.Fatalf("the early joiners' numbers %v are not 1..%d", numbers, early)
		}
	}
	// In arrival order, numbers would be 1..16 (chance of a fair draw: 1 in 16!).
	if slices.IsSorted(numbers) || slices.IsSortedFunc(numbers, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("early joiners numbered in (reverse) arrival order: %v", numbers)
	}
	t.Logf("early joiners' numbers in arrival order: %v", numbers)
}

// After opening, places and admission follow arrival; a buyer who gives an admission back lets
// the next one in at once.
func TestWaitingRoomIsFIFOAfterOpening(t *testing.T) {
	t.Parallel()
	cs := buyers(t, 6)
	e := roomEvent(t, 10, 60, time.Now().Add(-time.Minute)) // one a second
	for i, c := range cs {
		if p := join(t, c, e.ID); p.number() != int64(i+1) {
			t.Fatalf("joiner %d got number %d", i+1, p.number())
		}
	}
	for i, c := range cs {
		if p := placeOf(t, c, e.ID); p.State == "WAITING" && (p.Position == nil || *p.Position > int64(i+1)) {
			t.Fatalf("joiner %d: %+v", i+1, p)
		}
	}
	until := make([]time.Time, len(cs))
	for i, c := range cs {
		until[i] = *admittedSoon(t, c, e.ID, 20*time.Second).AdmittedUntil
	}
	for i := 1; i < len(until); i++ {
		if !until[i].After(until[i-1]) {
			t.Fatalf("admitted out of arrival order: %v", until)
		}
	}
	// One a minute: after the first, the next would wait a minute, unless the first leaves.
	e = roomEvent(t, 10, 1, time.Now().Add(-time.Minute))
	two := buyers(t, 2)
	first, next := two[0], two[1]
	join(t, first, e.ID)
	join(t, next, e.ID)
	admittedSoon(t, first, e.ID, 5*time.Second)
	// A replica shows the line as of its last read of it (updatedAt): the first's admission
	// reaches next's view within the room's freshness (position_fresh_p99_ms ≤ 2,000).
	poll(t, 5*time.Second, 200*time.Millisecond, func() error {
		if p := placeOf(t, next, e.ID); p.State != "WAITING" || p.Position == nil || *p.Position != 1 {
			pos := "none"
			if p.Position != nil {
				pos = fmt.Sprint(*p.Position)
			}
			return fmt.Errorf("next: %s at position %s, want WAITING at 1", p.State, pos)
		}
		return nil
	})
	var left queuePlace
	first.expect(200, "DELETE", queuePath(e.ID), nil, &left)
	if left.State != "EXPIRED" || left.AdmissionToken != "" {
		t.Fatalf("after leaving: %+v", left)
	}
	admittedSoon(t, next, e.ID, 5*time.Second)
}

// A booking for an event whose room is on needs the buyer's own token for that event, still
// valid; each refusal has its code, and none binds the Idempotency-Key.
func TestBookingNeedsAValidAdmissionToken(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	key := admission.Key([]byte(cfg.JWTSecret))
	e := roomEvent(t, 10, 600, time.Now().Add(-time.Minute))
	other := roomEvent(t, 10, 600, time.Now().Add(-time.Minute))
	ann, annUser := register(t)
	bob, _ := register(t)
	join(t, ann, e.ID)
	join(t, ann, other.ID)
	join(t, bob, e.ID)
	tok := admittedSoon(t, ann, e.ID, 10*time.Second).AdmissionToken
	otherTok := admittedSoon(t, ann, other.ID, 10*time.Second).AdmissionToken
	admittedSoon(t, bob, e.ID, 10*time.Second)

	seat := []string{"FLOOR-A-1"}
	key1 := "room-" + uniq()
	refusedWith(t, book(ann, e.ID, seat, "tok_visa", "Idempotency-Key", key1), 403, "ADMISSION_REQUIRED")
	expired, _ := admission.Sign(key, admission.Pass{UserID: annUser.ID, EventID: e.ID,
		AdmittedAt: time.Now().Add(-11 * time.Minute), Until: time.Now().Add(-time.Minute)})
	forged, _ := admission.Sign(admission.Key([]byte("not-the-secret-of-this-deployment!!")), admission.Pass{
		UserID: annUser.ID, EventID: e.ID, AdmittedAt: time.Now(), Until: time.Now().Add(time.Minute)})
	for name, c := range map[string]struct {
		who   *client
		token string
	}{
		"expired": {ann, expired}, "forged": {ann, forged}, "garbage": {ann, "x.y.z"},
		"another event's": {ann, otherTok}, "another account's": {bob, tok},
	} {
		e := refusedWith(t, book(c.who, e.ID, seat, "tok_visa", "Idempotency-Key", key1, "Admission-Token", c.token), 403, "ADMISSION_INVALID")
		t.Logf("%s token: %s", name, e.Error.Message)
	}
	// The same key, now with the buyer's own token: the first booking, not a replayed 403.
	r := book(ann, e.ID, seat, "tok_visa", "Idempotency-Key", key1, "Admission-Token", tok)
	if r.status != http.StatusAccepted {
		t.Fatalf("with a valid token: %d %s", r.status, r.body)
	}
	// The token admits up to the buyer limit, in as many bookings as the buyer likes.
	if r := book(ann, e.ID, []string{"FLOOR-A-2"}, "tok_visa", "Admission-Token", tok); r.status != http.StatusAccepted {
		t.Fatalf("a second booking with the token: %d %s", r.status, r.body)
	}
	// An event without a room books as it always did.
	plain := newEvent(t, 5, 1000)
	if r := book(bob, plain.ID, seat, "tok_visa"); r.status != http.StatusAccepted {
		t.Fatalf("an event without a room: %d %s", r.status, r.body)
	}
}

// gatewayReplicas returns two gateway base URLs: the stack's two replicas when it runs two
// (TICKETFLOW_REPLICAS=2), else its one and a replica this test starts.
func gatewayReplicas(t *testing.T, offset int) []string {
	cfg := loadConfig(t)
	if gws := cfg.Endpoints[config.Gateway]; len(gws) >= 2 {
		return gws[:2]
	}
	return []string{cfg.URLs[config.Gateway], startGateway(t, cfg.Ports[config.Gateway]+offset)}
}

// readStream follows the buyer's queue stream at base until stop says so or d passes, and
// returns the places it pushed.
func readStream(t testing.TB, c *client, base, eventID string, d time.Duration, stop func(queuePlace) bool) []queuePlace {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+queuePath(eventID)+"/stream", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	checkSpec(t, req, nil, resp, nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var seen []queuePlace
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var p queuePlace
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			t.Fatalf("stream data %q: %v", data, err)
		}
		seen = append(seen, p)
		if stop(p) {
			break
		}
	}
	return seen
}

// Any replica serves any buyer: a place made through one is read, streamed and admitted through
// the other, and the token either gives is the same and books through either.
func TestWaitingRoomAcrossTwoGatewayReplicas(t *testing.T) {
	gws := gatewayReplicas(t, 45)
	e := roomEvent(t, 10, 30, time.Now().Add(-time.Minute)) // one every 2 s
	cs := buyers(t, 3)
	for i, c := range cs {
		p := queuePlace{}
		c.at(gws[i%2]).expect(200, "POST", queuePath(e.ID), nil, &p)
		if again := join(t, c.at(gws[(i+1)%2]), e.ID); again.number() != p.number() {
			t.Fatalf("buyer %d: %d through one gateway, %d through the other", i, p.number(), again.number())
		}
	}
	// The third buyer follows the stream on the second replica while the line moves: its place
	// moves toward 1, then it is let in.
	last := cs[2]
	seen := readStream(t, last, gws[1], e.ID, 30*time.Second, func(p queuePlace) bool { return p.State == "ADMITTED" })
	if len(seen) < 2 || seen[len(seen)-1].State != "ADMITTED" || seen[0].State != "WAITING" {
		t.Fatalf("the stream pushed %+v", seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i-1].State == "WAITING" && seen[i].State == "WAITING" && *seen[i].Position >= *seen[i-1].Position {
			t.Fatalf("the place did not move forward: %+v", seen)
		}
	}
	one, two := placeOf(t, last.at(gws[0]), e.ID), placeOf(t, last.at(gws[1]), e.ID)
	if one.AdmissionToken == "" || one.AdmissionToken != two.AdmissionToken || one.AdmissionToken != seen[len(seen)-1].AdmissionToken {
		t.Fatalf("tokens differ between replicas: %q, %q", one.AdmissionToken, two.AdmissionToken)
	}
	for i, gw := range gws {
		seat := []string{"FLOOR-A-" + strconv.Itoa(i+1)}
		if r := book(last.at(gw), e.ID, seat, "tok_visa", "Admission-Token", one.AdmissionToken); r.status != http.StatusAccepted {
			t.Fatalf("booking through replica %d: %d %s", i, r.status, r.body)
		}
	}
}

// A place is followed at the room server its answer names, apart from the gateway: the room reads
// and streams it with the gateway's checks, sees the line the gateways move (it moves none
// itself), and refuses joining and leaving; the gateway still answers the same reads.
func TestAPlaceIsFollowedAtTheRoomServer(t *testing.T) {
	t.Parallel()
	cfg := loadConfig(t)
	room := cfg.URLs[config.Room]
	e := roomEvent(t, 10, 30, time.Now().Add(-time.Minute)) // one every 2 s
	cs := buyers(t, 3)
	var places []queuePlace
	for _, c := range cs {
		places = append(places, join(t, c, e.ID))
	}
	last, p := cs[2], places[2]
	if p.PollURL != room+queuePath(e.ID) || p.StreamURL != p.PollURL+"/stream" {
		t.Fatalf("the place names pollUrl %q and streamUrl %q, want the room server's (%s)", p.PollURL, p.StreamURL, room)
	}
	var atRoom queuePlace
	last.at(room).expect(200, "GET", queuePath(e.ID), nil, &atRoom)
	if atRoom.number() != p.number() || atRoom.StreamURL != p.StreamURL {
		t.Fatalf("the room answers %+v, the gateway answered %+v", atRoom, p)
	}
	if atGateway := placeOf(t, last, e.ID); atGateway.number() != p.number() {
		t.Fatalf("the gateway answers %+v, want the place %+v", atGateway, p)
	}
	refusedWith(t, newClient(t).at(room).do("GET", queuePath(e.ID), nil), 401, "UNAUTHORIZED")
	stranger, _ := register(t)
	refusedWith(t, stranger.at(room).do("GET", queuePath(e.ID), nil), 404, "NOT_FOUND")
	refusedWith(t, last.at(room).do("POST", queuePath(e.ID), nil), 405, "METHOD_NOT_ALLOWED")
	refusedWith(t, last.at(room).do("DELETE", queuePath(e.ID), nil), 405, "METHOD_NOT_ALLOWED")

	seen := readStream(t, last, room, e.ID, 30*time.Second, func(p queuePlace) bool { return p.State == "ADMITTED" })
	if len(seen) < 2 || seen[0].State != "WAITING" || seen[len(seen)-1].State != "ADMITTED" || seen[len(seen)-1].AdmissionToken == "" {
		t.Fatalf("the room's stream pushed %+v, want the place moving to ADMITTED", seen)
	}
	tok := seen[len(seen)-1].AdmissionToken
	if r := book(last, e.ID, []string{"FLOOR-A-1"}, "tok_visa", "Admission-Token", tok); r.status != http.StatusAccepted {
		t.Fatalf("booking with the token the room pushed: %d %s", r.status, r.body)
	}
}

// roomRedis reads the stack's Redis, where the lines are.
func roomRedis(t testing.TB) *redis.Client {
	rdb := redis.NewClient(&redis.Options{Addr: loadConfig(t).RedisAddr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// A gateway replica killed (SIGKILL) while the line is being admitted loses no place and admits
// no one twice: the line is in Redis, each admission one atomic script, the step's lease
// short-lived, so the other replicas go on.
func TestAGatewayKilledDuringAdmissionLosesNoPlace(t *testing.T) {
	cfg := loadConfig(t)
	port := cfg.Ports[config.Gateway] + 46
	// Its ticks are shorter than the stack's gateways', so that it wins most of the line's leases.
	victim := startGatewayProcess(t, port, "WAITING_ROOM_TICK=50ms")
	gws := []string{cfg.URLs[config.Gateway], fmt.Sprintf("http://127.0.0.1:%d", port)}
	const n = 60
	cs := buyers(t, n)
	e := roomEvent(t, 100, 240, time.Now().Add(-time.Minute)) // four a second
	numbers := map[int64]int{}
	for i, c := range cs {
		p := join(t, c.at(gws[i%2]), e.ID)
		numbers[p.number()] = i
	}
	if len(numbers) != n {
		t.Fatalf("%d buyers got %d numbers", n, len(numbers))
	}
	// Kill the victim once it has let buyers in itself (its steps are in its metrics). It wins the
	// line's lease only between the stack gateway's leases; with 24 buyers the stack's gateway had
	// once let the whole line in (6 s at four a second) before the victim won one: 60 buyers keep
	// the line moving for 15 s.
	admin := fmt.Sprintf("http://127.0.0.1:%d/metrics", port+50)
	poll(t, 20*time.Second, 100*time.Millisecond, func() error {
		resp, err := http.Get(admin)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "ticketflow_waiting_room_admitted_total "); ok && v != "0" {
				return nil
			}
		}
		return fmt.Errorf("the replica on port %d has let no one in yet", port)
	})
	if err := victim.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	t.Log("killed the gateway replica on port", port)
	for i, c := range cs {
		p := placeOf(t, c, e.ID) // through the survivor
		if numbers[p.number()] != i {
			t.Fatalf("buyer %d has number %d after the kill", i, p.number())
		}
	}
	until := map[int]time.Time{}
	poll(t, 30*time.Second, time.Second, func() error {
		waiting := 0
		for i, c := range cs {
			p := placeOf(t, c, e.ID)
			switch {
			case p.State == "ADMITTED" && until[i].IsZero():
				until[i] = *p.AdmittedUntil
			case p.State == "ADMITTED" && !until[i].Equal(*p.AdmittedUntil):
				t.Fatalf("buyer %d admitted twice: until %s, then %s", i, until[i], p.AdmittedUntil)
			case p.State == "WAITING":
				waiting++
			}
		}
		if waiting > 0 {
			return fmt.Errorf("%d still waiting", waiting)
		}
		return nil
	})
	m, _, _, _, _, _ := roomKeys(e.ID)
	admitted, err := roomRedis(t).HGet(context.Background(), m, "admitted").Int()
	if err != nil || admitted != n || len(until) != n {
		t.Fatalf("the line counts %d admissions (%v) for %d buyers, %d seen admitted", admitted, err, n, len(until))
	}
}

func roomKeys(eventID string) (m, p, e, q, g, f string) {
	pre := "room:{" + eventID + "}:"
	return pre + "m", pre + "p", pre + "e", pre + "q", pre + "g", pre + "f"
}

// startGatewayProcess is startGateway that returns the process, for a test that kills it.
func startGatewayProcess(t *testing.T, port int, env ...string) *exec.Cmd {
	t.Helper()
	var cmd *exec.Cmd
	startGatewayWith(t, port, func(c *exec.Cmd) { cmd = c }, env...)
	return cmd
}

// While Redis is paused the line cannot be joined (503 with Retry-After, in bounded time), but a
// buyer already let in books: the booking service checks the token's signature and needs no
// Redis. When Redis is back — resumed, or killed and restarted (its append-only file) — every
// place is as it was.
func TestWaitingRoomDuringARedisOutage(t *testing.T) {
	cfg := loadConfig(t)
	e := roomEvent(t, 10, 1, time.Now().Add(-time.Minute))
	cs := buyers(t, 4)
	before := make([]queuePlace, len(cs))
	for i, c := range cs[:3] {
		before[i] = join(t, c, e.ID)
	}
	tok := admittedSoon(t, cs[0], e.ID, 5*time.Second).AdmissionToken
	for _, fault := range []string{"pause", "kill"} {
		t.Run(fault, func(t *testing.T) {
			done := make(chan struct{})
			if fault == "pause" {
				go func() {
					defer close(done)
					if _, err := devstack.Pause(cfg, "redis", 6*time.Second); err != nil {
						t.Error(err)
					}
				}()
			} else {
				// Let the append-only file take the last writes (it is written every second).
				time.Sleep(1500 * time.Millisecond)
				killFor(t, cfg, "redis", 4*time.Second)
				close(done)
			}
			time.Sleep(500 * time.Millisecond)
			began := time.Now()
			r := cs[3].withTimeout(10*time.Second).do("POST", queuePath(e.ID), nil)
			if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || time.Since(began) > 6*time.Second {
				t.Fatalf("join during the Redis %s: %d after %s (Retry-After %q): %s", fault, r.status, time.Since(began), r.header.Get("Retry-After"), r.body)
			}
			seat := "FLOOR-A-1"
			if fault == "kill" {
				seat = "FLOOR-A-2"
			}
			if r := book(cs[0], e.ID, []string{seat}, "tok_visa", "Admission-Token", tok); r.status != http.StatusAccepted {
				t.Fatalf("an admitted buyer's booking during the Redis %s: %d %s", fault, r.status, r.body)
			}
			<-done
			poll(t, 60*time.Second, time.Second, func() error {
				r := cs[1].withTimeout(5*time.Second).do("GET", queuePath(e.ID), nil)
				if r.status != 200 {
					return fmt.Errorf("GET after the Redis %s: %d", fault, r.status)
				}
				return nil
			})
			for i, c := range cs[:3] {
				if p := placeOf(t, c, e.ID); p.number() != before[i].number() || !p.JoinedAt.Equal(before[i].JoinedAt) {
					t.Fatalf("buyer %d after the Redis %s: %+v, before %+v", i, fault, p, before[i])
				}
			}
		})
	}
}
