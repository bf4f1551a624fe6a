package waitingroom

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The line of one event lives in Redis, under keys that share the hash tag {<eventId>} (one Redis
// Cluster slot), and every change to it is one Lua script, atomic: two gateway replicas, or a
// replica that dies half-way through a request, can never give one buyer two places or admit one
// place twice.
//
//	room:{E}:m   hash   the line's state: open (ms), drawn, seq (last number given), head (the
//	                    number the line has moved past), moved (ms, when the head last moved or
//	                    someone ahead left), admitted, gv (bumped when a waiting buyer leaves),
//	                    av (bumped when an admitted buyer gives the admission back),
//	                    credit (admissions owed to buyers who left), and the meter's state
//	room:{E}:p   hash   account → its place, "S|number|key|joined|admittedAt|until" (S: W, A, L)
//	room:{E}:e   zset   before the draw: the early joiners by their random key
//	room:{E}:q   zset   the waiting buyers by number
//	room:{E}:g   zset   numbers of buyers who left while waiting, past the head
//	room:{E}:f   zset   admitted buyers who have not answered a booking yet, by admission time
//	rooms        set    the events whose line is live (every replica's ticker reads it)
//
// Fairness: a buyer who joins before the sale opens gets a random key (crypto/rand, 46 bits) and
// no number; at opening the first script to run (a join, or the ticker's admission) draws: the
// early joiners get numbers 1..N in the order of their keys — a uniformly random order, fixed the
// moment they joined, that no later request can change. After the draw every joiner takes the
// next number. Admission pops the lowest numbers. Times are Redis's own clock (TIME), one clock
// for every replica.

// States of a place as stored.
const (
	stWaiting  = "W"
	stAdmitted = "A"
	stLeft     = "L"
)

// place is one account's place in an event's line, as stored.
type place struct {
	State      string
	Number     int64 // 0 before the draw
	Key        int64 // the early joiner's random key
	Joined     int64 // ms
	AdmittedAt int64 // ms
	Until      int64 // ms: when the admission ends
}

func parsePlace(s string) (place, error) {
	f := strings.Split(s, "|")
	if len(f) != 6 {
		return place{}, fmt.Errorf("waiting room: stored place %q", s)
	}
	p := place{State: f[0]}
	for i, dst := range []*int64{&p.Number, &p.Key, &p.Joined, &p.AdmittedAt, &p.Until} {
		v, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return place{}, fmt.Errorf("waiting room: stored place %q", s)
		}
		*dst = v
	}
	return p, nil
}

// prelude holds the scripts' shared functions: Redis's clock, the place codec, and the draw.
const prelude = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function parse(v)
  local s, t, k, j, a, u = string.match(v, '^(%a)|(%d+)|(%d+)|(%d+)|(%d+)|(%d+)$')
  return {s = s, t = tonumber(t), k = tonumber(k), j = tonumber(j), a = tonumber(a), u = tonumber(u)}
end
local function fmt(p)
  return string.format('%s|%d|%d|%d|%d|%d', p.s, p.t, p.k, p.j, p.a, p.u)
end
-- draw gives the early joiners their numbers once the sale has opened, in the order of their keys.
local function draw(m, p, e, q, now)
  if redis.call('HGET', m, 'drawn') == '1' then return end
  local open = tonumber(redis.call('HGET', m, 'open') or '0')
  if open == 0 or now < open then return end
  local seq = tonumber(redis.call('HGET', m, 'seq') or '0')
  local early = redis.call('ZRANGE', e, 0, -1)
  for i, u in ipairs(early) do
    local pl = parse(redis.call('HGET', p, u))
    pl.t = seq + i
    redis.call('HSET', p, u, fmt(pl))
    redis.call('ZADD', q, pl.t, u)
  end
  redis.call('HSET', m, 'seq', seq + #early, 'drawn', '1', 'moved', now)
  redis.call('DEL', e)
end
`

// joinScript: KEYS m p e q; ARGV account, random key, opening (ms). Returns {place, now}.
var joinScript = redis.NewScript(prelude + `
local m, p, e, q = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local user, key = ARGV[1], tonumber(ARGV[2])
local now = now_ms()
if redis.call('HGET', m, 'drawn') ~= '1' then redis.call('HSET', m, 'open', ARGV[3]) end
draw(m, p, e, q, now)
local drawn = redis.call('HGET', m, 'drawn') == '1'
local v = redis.call('HGET', p, user)
local pl
if v then
  pl = parse(v)
  if pl.s == 'W' or (pl.s == 'A' and pl.u > now) then return {v, now} end
  -- The place ended (left, or the admission ran out): back in line. Before the draw with the same
  -- key, so that leaving and joining again draws nothing new; after it, at the back.
  pl.s, pl.a, pl.u = 'W', 0, 0
  if drawn then
    pl.t, pl.j = redis.call('HINCRBY', m, 'seq', 1), now
    redis.call('ZADD', q, pl.t, user)
  else
    redis.call('ZADD', e, pl.k, user)
  end
else
  pl = {s = 'W', t = 0, k = key, j = now, a = 0, u = 0}
  if drawn then
    pl.t = redis.call('HINCRBY', m, 'seq', 1)
    redis.call('ZADD', q, pl.t, user)
  else
    redis.call('ZADD', e, key, user)
  end
end
v = fmt(pl)
redis.call('HSET', p, user, v)
return {v, now}
`)

// leaveScript: KEYS m p e q g f; ARGV account. Returns {place, now}, or nil for no place.
var leaveScript = redis.NewScript(prelude + `
local m, p, e, q, g, f = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local user = ARGV[1]
local now = now_ms()
local v = redis.call('HGET', p, user)
if not v then return nil end
local pl = parse(v)
if pl.s == 'W' then
  if pl.t == 0 then
    redis.call('ZREM', e, user)
  else
    redis.call('ZREM', q, user)
    redis.call('ZADD', g, pl.t, pl.t)
    redis.call('HINCRBY', m, 'gv', 1)
    redis.call('HSET', m, 'moved', now)
  end
elseif pl.s == 'A' and pl.u > now then
  -- An admitted buyer who leaves lets the next one in.
  redis.call('ZREM', f, user)
  redis.call('HINCRBY', m, 'credit', 1)
  redis.call('HINCRBY', m, 'av', 1)
  pl.u = now
else
  return {v, now}
end
pl.s = 'L'
v = fmt(pl)
redis.call('HSET', p, user, v)
return {v, now}
`)

// admitScript: KEYS m p e q g f; ARGV how many, admission (ms), credits used. Draws when due, then
// admits up to that many of the lowest numbers. Returns {admitted, head, now, drawn}.
var admitScript = redis.NewScript(prelude + `
local m, p, e, q, g, f = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local n, ttl, used = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
draw(m, p, e, q, now)
local head = tonumber(redis.call('HGET', m, 'head') or '0')
if redis.call('HGET', m, 'drawn') ~= '1' then return {0, head, now, 0} end
if used > 0 then redis.call('HINCRBY', m, 'credit', -used) end
local k = 0
if n > 0 then
  local popped = redis.call('ZPOPMIN', q, n)
  for i = 1, #popped, 2 do
    local u, t = popped[i], tonumber(popped[i + 1])
    local pl = parse(redis.call('HGET', p, u))
    pl.s, pl.a, pl.u = 'A', now, now + ttl
    redis.call('HSET', p, u, fmt(pl))
    redis.call('ZADD', f, now, u)
    head, k = t, k + 1
  end
  if k > 0 then
    redis.call('HSET', m, 'head', head, 'moved', now)
    redis.call('HINCRBY', m, 'admitted', k)
    redis.call('ZREMRANGEBYSCORE', g, '-inf', head)
  end
end
return {k, head, now, 1}
`)

// line is the waiting rooms' store: every event's line in one Redis.
type line struct{ rdb *redis.Client }

// roomsKey is the set of events whose line is live.
const roomsKey = "rooms"

func keys(eventID string) (m, p, e, q, g, f string) {
	pre := "room:{" + eventID + "}:"
	return pre + "m", pre + "p", pre + "e", pre + "q", pre + "g", pre + "f"
}

// randomKey is an early joiner's key: uniform in [0, 2^46), exact as a Redis score and as the
// 14 significant digits Lua writes a number with.
func randomKey() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return int64(binary.BigEndian.Uint64(b[:]) >> 18)
}

// join gives the account its place in the event's line, or returns the one it has (a place that
// ended, by leaving or running out, is a new place at the back). opens is when the sale opens:
// who joins before it is drawn into a random order at that moment. It returns the place and
// Redis's clock.
func (l *line) join(ctx context.Context, eventID, user string, opens time.Time) (place, time.Time, error) {
	m, p, e, q, _, _ := keys(eventID)
	res, err := joinScript.Run(ctx, l.rdb, []string{m, p, e, q}, user, randomKey(), opens.UnixMilli()).Slice()
	if err != nil {
		return place{}, time.Time{}, fmt.Errorf("join the line of %s: %w", eventID, err)
	}
	if err := l.rdb.SAdd(ctx, roomsKey, eventID).Err(); err != nil {
		return place{}, time.Time{}, fmt.Errorf("mark the line of %s live: %w", eventID, err)
	}
	return placeAndNow(res)
}

// leave ends the account's place: a waiting buyer leaves the line, an admitted one gives the
// admission back (the next buyer is let in). errNoPlace when it has none.
func (l *line) leave(ctx context.Context, eventID, user string) (place, time.Time, error) {
	m, p, e, q, g, f := keys(eventID)
	res, err := leaveScript.Run(ctx, l.rdb, []string{m, p, e, q, g, f}, user).Slice()
	if errors.Is(err, redis.Nil) {
		return place{}, time.Time{}, errNoPlace
	}
	if err != nil {
		return place{}, time.Time{}, fmt.Errorf("leave the line of %s: %w", eventID, err)
	}
	return placeAndNow(res)
}

var errNoPlace = errors.New("no place in this line")

// place reads the account's place (errNoPlace when it has none).
func (l *line) place(ctx context.Context, eventID, user string) (place, error) {
	_, p, _, _, _, _ := keys(eventID)
	s, err := l.rdb.HGet(ctx, p, user).Result()
	if errors.Is(err, redis.Nil) {
		return place{}, errNoPlace
	}
	if err != nil {
		return place{}, fmt.Errorf("read a place in the line of %s: %w", eventID, err)
	}
	return parsePlace(s)
}

// admitted is what one admission step did.
type admitted struct {
	N     int   // buyers admitted
	Head  int64 // the number the line has moved past
	Now   time.Time
	Drawn bool // the early joiners have their numbers (the sale has opened)
}

// admit draws the line when the sale has opened, then admits up to n buyers, each for ttl, and
// takes creditsUsed credits of buyers who left.
func (l *line) admit(ctx context.Context, eventID string, n int, ttl time.Duration, creditsUsed int) (admitted, error) {
	m, p, e, q, g, f := keys(eventID)
	res, err := admitScript.Run(ctx, l.rdb, []string{m, p, e, q, g, f}, n, ttl.Milliseconds(), creditsUsed).Int64Slice()
	if err != nil {
		return admitted{}, fmt.Errorf("admit from the line of %s: %w", eventID, err)
	}
	return admitted{N: int(res[0]), Head: res[1], Now: time.UnixMilli(res[2]), Drawn: res[3] == 1}, nil
}

// decided notes an admitted buyer's seat decision: booked (any answer but a failure) takes them
// off the fresh admissions, which the meter counts as about to hold seats; every decision is
// counted, and the slow ones (over the decision target, or failed), for the meter's pace. A line
// already removed is not brought back by a late answer.
func (l *line) decided(ctx context.Context, eventID, user string, booked, slow bool) error {
	m, _, _, _, _, f := keys(eventID)
	return decidedScript.Run(ctx, l.rdb, []string{m, f}, user, flag(booked), flag(slow)).Err()
}

var decidedScript = redis.NewScript(`
if ARGV[2] == '1' then redis.call('ZREM', KEYS[2], ARGV[1]) end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'dn', 1)
  if ARGV[3] == '1' then redis.call('HINCRBY', KEYS[1], 'dslow', 1) end
end
return 0`)

// takeDecisions returns the decisions counted since the last take, and the slow ones, and takes
// them off the counts in the same script: two replicas whose steps overlap never read the same.
func (l *line) takeDecisions(ctx context.Context, eventID string) (n, slow int64, err error) {
	m, _, _, _, _, _ := keys(eventID)
	res, err := takeDecisionsScript.Run(ctx, l.rdb, []string{m}).Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, 0, fmt.Errorf("take the decisions of %s: %v %w", eventID, res, err)
	}
	return res[0], res[1], nil
}

var takeDecisionsScript = redis.NewScript(`
local out = {}
for i, f in ipairs({'dn', 'dslow'}) do
  local v = tonumber(redis.call('HGET', KEYS[1], f) or '0') or 0
  if v ~= 0 then redis.call('HINCRBY', KEYS[1], f, -v) end
  out[i] = math.max(v, 0)
end
return out`)

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// summary is the state of one event's line that every view of it shares.
type summary struct {
	Read     time.Time // when it was read (this replica's clock)
	Opens    time.Time
	Drawn    bool
	Seq      int64 // the last number given
	Head     int64 // the line has moved past every number up to this one
	Moved    time.Time
	Admitted int64
	Waiting  int64   // buyers waiting (drawn or not)
	Gone     []int64 // numbers past the head of buyers who left, ascending
	gv       int64
	av       int64 // admissions given back
	SoldOut  bool
	// AdmitRate is the admissions per second lately (the meter's measure), for estimates.
	AdmitRate float64
}

// ahead is how many buyers wait before number n.
func (s *summary) ahead(n int64) int64 {
	if n <= s.Head {
		return 0
	}
	// Numbers in (head, n) not gone: gone ones are ascending, all past the head.
	lo, hi := 0, len(s.Gone)
	for lo < hi {
		mid := (lo + hi) / 2
		if s.Gone[mid] < n {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return max(n-s.Head-1-int64(lo), 0)
}

// metaFields are the fields of the line's state a summary reads, in order.
var metaFields = []string{"open", "drawn", "seq", "head", "moved", "admitted", "gv", "soldout", "arate", "av"}

// read reads the summary of the event's line; prev (may be nil) is the last one read, whose list
// of buyers gone is kept unless someone left since.
func (l *line) read(ctx context.Context, eventID string, prev *summary) (*summary, error) {
	m, _, e, q, g, _ := keys(eventID)
	pipe := l.rdb.Pipeline()
	meta := pipe.HMGet(ctx, m, metaFields...)
	early := pipe.ZCard(ctx, e)
	waiting := pipe.ZCard(ctx, q)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read the line of %s: %w", eventID, err)
	}
	v := meta.Val()
	num := func(i int) int64 {
		s, _ := v[i].(string)
		n, _ := strconv.ParseInt(s, 10, 64)
		return n
	}
	s := &summary{Read: time.Now(), Opens: time.UnixMilli(num(0)), Drawn: num(1) == 1, Seq: num(2), Head: num(3),
		Moved: time.UnixMilli(num(4)), Admitted: num(5), gv: num(6), SoldOut: num(7) == 1, av: num(9),
		Waiting: early.Val() + waiting.Val()}
	if r, ok := v[8].(string); ok {
		s.AdmitRate, _ = strconv.ParseFloat(r, 64)
	}
	if num(4) == 0 {
		s.Moved = time.Time{}
	}
	if prev != nil && prev.gv == s.gv {
		s.Gone = prev.Gone
		for len(s.Gone) > 0 && s.Gone[0] <= s.Head {
			s.Gone = s.Gone[1:]
		}
		return s, nil
	}
	if s.gv > 0 {
		gone, err := l.rdb.ZRangeByScore(ctx, g, &redis.ZRangeBy{Min: "(" + strconv.FormatInt(s.Head, 10), Max: "+inf"}).Result()
		if err != nil {
			return nil, fmt.Errorf("read who left the line of %s: %w", eventID, err)
		}
		s.Gone = make([]int64, 0, len(gone))
		for _, x := range gone {
			n, _ := strconv.ParseInt(x, 10, 64)
			s.Gone = append(s.Gone, n)
		}
	}
	return s, nil
}

// meterState is what the meter keeps between steps, in the line's state hash.
type meterState struct {
	Reserved   int64     // seats sold at the last measure
	MeasuredAt time.Time // zero before the first
	Rate       float64   // seats confirmed per second (moving average)
	AdmitRate  float64   // buyers admitted per second (moving average)
	Tokens     float64   // a fixed rate's admissions saved up
	StepAt     time.Time // when the last step ran (zero before the first)
	Credit     int64     // admissions owed to admitted buyers who left
	SoldOut    bool
	// Pace bounds the buyers let in a second while admitted buyers' decisions run slow (0: no
	// bound; meter.go); CutAt is when it was last cut.
	Pace  float64
	CutAt time.Time
	// Decisions and SlowDecisions are the admitted buyers' decisions counted since the last step
	// (every gateway counts those it relays), and those slower than the decision target or
	// failed; reading the state takes them (they are not stored with it).
	Decisions, SlowDecisions int64
}

var meterFields = []string{"mrsv", "mat", "mrate", "arate", "tokens", "credit", "soldout", "sat", "pace", "cutat"}

func (l *line) meter(ctx context.Context, eventID string) (meterState, error) {
	m, _, _, _, _, _ := keys(eventID)
	v, err := l.rdb.HMGet(ctx, m, meterFields...).Result()
	if err != nil {
		return meterState{}, fmt.Errorf("read the meter of %s: %w", eventID, err)
	}
	f := func(i int) float64 {
		s, _ := v[i].(string)
		x, _ := strconv.ParseFloat(s, 64)
		return x
	}
	st := meterState{Reserved: int64(f(0)), Rate: f(2), AdmitRate: f(3), Tokens: f(4), Credit: int64(f(5)), SoldOut: f(6) == 1}
	if at := int64(f(1)); at > 0 {
		st.MeasuredAt = time.UnixMilli(at)
	}
	if at := int64(f(7)); at > 0 {
		st.StepAt = time.UnixMilli(at)
	}
	st.Pace = f(8)
	if at := int64(f(9)); at > 0 {
		st.CutAt = time.UnixMilli(at)
	}
	if st.Decisions, st.SlowDecisions, err = l.takeDecisions(ctx, eventID); err != nil {
		return meterState{}, err
	}
	return st, nil
}

// saveMeter stores the meter's state (not the credit, which the scripts count).
func (l *line) saveMeter(ctx context.Context, eventID string, st meterState) error {
	m, _, _, _, _, _ := keys(eventID)
	soldOut := 0
	if st.SoldOut {
		soldOut = 1
	}
	return l.rdb.HSet(ctx, m, "mrsv", st.Reserved, "mat", st.MeasuredAt.UnixMilli(), "mrate", finite(st.Rate),
		"arate", finite(st.AdmitRate), "tokens", finite(st.Tokens), "soldout", soldOut, "sat", st.StepAt.UnixMilli(),
		"pace", finite(st.Pace), "cutat", st.CutAt.UnixMilli()).Err()
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

// fresh counts the admitted buyers who have not answered a booking within freshFor of their
// admission, forgetting older ones.
func (l *line) fresh(ctx context.Context, eventID string, now time.Time, freshFor time.Duration) (int64, error) {
	_, _, _, _, _, f := keys(eventID)
	cutoff := strconv.FormatInt(now.Add(-freshFor).UnixMilli(), 10)
	pipe := l.rdb.Pipeline()
	pipe.ZRemRangeByScore(ctx, f, "-inf", "("+cutoff)
	n := pipe.ZCard(ctx, f)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("count fresh admissions of %s: %w", eventID, err)
	}
	return n.Val(), nil
}

// lease makes this replica the one that moves the event's line for d (SET NX PX): every replica
// tries at each tick, one wins.
func (l *line) lease(ctx context.Context, eventID, replica string, d time.Duration) (bool, error) {
	ok, err := l.rdb.SetNX(ctx, "room:{"+eventID+"}:lease", replica, d).Result()
	if err != nil {
		return false, fmt.Errorf("lease the line of %s: %w", eventID, err)
	}
	return ok, nil
}

// live lists the events whose line is live.
func (l *line) live(ctx context.Context) ([]string, error) {
	return l.rdb.SMembers(ctx, roomsKey).Result()
}

// forget removes an event's line (its sale is over, or the event is gone).
func (l *line) forget(ctx context.Context, eventID string) error {
	m, p, e, q, g, f := keys(eventID)
	if err := l.rdb.Del(ctx, m, p, e, q, g, f, "room:{"+eventID+"}:lease").Err(); err != nil {
		return err
	}
	return l.rdb.SRem(ctx, roomsKey, eventID).Err()
}

func placeAndNow(res []any) (place, time.Time, error) {
	if len(res) != 2 {
		return place{}, time.Time{}, fmt.Errorf("waiting room: script answered %v", res)
	}
	s, _ := res[0].(string)
	now, _ := res[1].(int64)
	p, err := parsePlace(s)
	return p, time.UnixMilli(now), err
}
