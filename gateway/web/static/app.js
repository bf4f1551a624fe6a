// TicketFlow's browser page: vanilla JavaScript over the REST API on the same origin (/api).
// Views are chosen by the URL hash: #/ (events), #/events/<id>, #/bookings, #/tickets (my
// tickets), #/door (door staff's check-in, which keeps working offline), #/login.
'use strict';

const MAX_SEATS = 10; // seats and places of general-admission areas, in one booking
// The seat map: the layout once, a status snapshot, then the stream of committed changes
// (docs/seatmap.md). Past LARGE_PLAN seats the page shows an overview by section first and draws
// one section's seats at a time, so a 100,000-seat stadium stays responsive.
const LARGE_PLAN = 1500;
const STATUS_OF = { A: 'AVAILABLE', L: 'LOCKED', R: 'RESERVED' };
const BOOKING_POLL_MS = 1000;
const PLACE_POLL_MS = 2000; // a waiting room's place, polled when its stream is not open
const PAGE_SIZE = 10;
const TERMINAL = new Set(['CONFIRMED', 'FAILED', 'EXPIRED', 'CANCELLED']);
const STATUS_TEXT = { AVAILABLE: 'available', LOCKED: 'held for a booking', RESERVED: 'sold' };

const $ = (id) => document.getElementById(id);

const state = {
  followAtGatewayUntil: 0, // the room server could not be reached: follow places at the gateway until then (ms)
  token: localStorage.getItem('ticketflow.token'),
  user: JSON.parse(localStorage.getItem('ticketflow.user') || 'null'),
  view: null,
  gen: 0,              // bumped on every navigation; answers for an older view are dropped
  returnTo: '#/',
  page: 1,
  search: '',
  event: null,         // the open event
  seats: new Map(),    // seat id -> {seat, button, status} for the seats drawn
  plan: null,          // {layout, seats: [{id, section, row, number, label, priceMinor}], index: Map id -> i}
  statuses: null,      // Uint8Array of status letters by seat index
  holds: new Map(),    // seat index -> hold expiry (ms)
  version: 0,          // the seat map version the statuses are at
  section: null,       // the section drawn, for a large plan
  stream: null,        // the EventSource of the open event
  selected: new Set(), // selected seat ids
  areas: new Map(),    // general-admission area key -> {section, name, capacity, priceMinor, available, locked, reserved}
  quantities: new Map(), // area key -> places chosen (the quantity picker)
  booking: null,       // the booking shown under the seat map
  place: null,         // the buyer's place in the open event's waiting room (null: no room)
  placeStream: null,   // the AbortController of the place's stream
  submitting: false,   // a POST /api/bookings is in flight
  errorSource: null,
  timers: {},
  exponents: {},       // currency code -> ISO 4217 exponent, from /currencies.json
};

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, message, requestId, details) {
    super(message);
    Object.assign(this, { status, code, requestId, details });
  }
}

// api calls the gateway and returns the decoded answer, or throws an ApiError carrying the
// envelope's message ({"error":{"code","message","requestId"}}).
async function api(method, path, body, headers = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (state.token) h.Authorization = 'Bearer ' + state.token;
  // A path of the API (/events/…), or a URL an answer gave (a place's pollUrl).
  const url = /^(https?:\/\/|\/api\/)/.test(path) ? path : '/api' + path;
  let res;
  try {
    res = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'NETWORK_ERROR', 'Cannot reach the TicketFlow gateway (' + e.message + ').');
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { /* not JSON: handled below */ }
  if (!res.ok) {
    const e = (data && data.error) || {};
    if (res.status === 401 && state.token) setSession(null, null); // expired or revoked token
    throw new ApiError(res.status, e.code || 'HTTP_' + res.status,
      e.message || `${method} ${url} answered ${res.status} ${res.statusText}`, e.requestId, e.details);
  }
  if (data === null) throw new ApiError(res.status, 'BAD_ANSWER', `${method} ${url} did not answer JSON`);
  return data;
}

// ---------------------------------------------------------------- small helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'onclick') node.addEventListener('click', v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

// decimal writes minor units in major units with exactly `exp` decimals, digit by digit (as the
// server's package money does): 1500 JPY is "1500", 1500 KWD is "1.500".
function decimal(minor, exp) {
  let d = String(Math.abs(minor));
  if (exp > 0) {
    d = d.padStart(exp + 1, '0');
    d = d.slice(0, -exp) + '.' + d.slice(-exp);
  }
  return (minor < 0 ? '-' : '') + d;
}

// money shows an amount in minor units by its currency's ISO 4217 exponent (the server's list,
// /currencies.json), in the reader's locale.
function money(minor, currency) {
  const exp = state.exponents[currency] ?? 2;
  const text = decimal(minor, exp);
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency, minimumFractionDigits: exp,
      maximumFractionDigits: exp }).format(text);
  } catch {
    return text + ' ' + currency;
  }
}

// when shows a time; with tz (the venue's IANA zone), as the clock at the venue reads.
function when(iso, tz) {
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const opts = { dateStyle: 'medium', timeStyle: 'short' };
  if (tz) {
    try { return d.toLocaleString(undefined, { ...opts, timeZone: tz }) + ' (' + tz + ')'; } catch { /* unknown zone */ }
  }
  return d.toLocaleString(undefined, opts);
}

// salesState says whether an event can be booked now, by its sales window: 'ON_SALE',
// 'SALES_NOT_STARTED' or 'SALES_CLOSED' (the codes the API refuses a booking with).
function salesState(ev) {
  const now = Date.now();
  if (ev.salesStartAt && now < new Date(ev.salesStartAt)) return 'SALES_NOT_STARTED';
  if (ev.salesEndAt && now >= new Date(ev.salesEndAt)) return 'SALES_CLOSED';
  return 'ON_SALE';
}

function salesText(ev) {
  const tz = ev.venue && ev.venue.timezone;
  switch (salesState(ev)) {
    case 'SALES_NOT_STARTED': return 'On sale from ' + when(ev.salesStartAt, tz);
    case 'SALES_CLOSED': return 'Sales closed';
    default: return 'On sale until ' + when(ev.salesEndAt, tz);
  }
}

function randomKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// showError puts a failure in the page's alert banner. source names who showed it, so a poller
// that succeeds again clears only its own error.
function showError(err, source = 'action') {
  let text = err && err.message ? err.message : String(err);
  const ids = err && err.details && err.details.unavailableSeatIds;
  if (Array.isArray(ids) && ids.length) text += (/[.!?]$/.test(text) ? ' ' : '. ') + 'Unavailable: ' + ids.join(', ') + '.';
  const areas = err && err.details && err.details.unavailableSections;
  if (Array.isArray(areas) && areas.length) {
    text += (/[.!?]$/.test(text) ? ' ' : '. ') + 'Too few places left: ' + areas.map(areaName).join(', ') + '.';
  }
  $('error-text').textContent = text;
  const meta = [];
  if (err && err.code) meta.push(err.code);
  if (err && err.requestId) meta.push('request ' + err.requestId);
  $('error-meta').textContent = meta.length ? '(' + meta.join(', ') + ')' : '';
  $('error').hidden = false;
  state.errorSource = source;
}

function clearError(source) {
  if (source && state.errorSource !== source) return;
  $('error').hidden = true;
  state.errorSource = null;
}

function stopTimers() {
  for (const t of Object.values(state.timers)) { clearTimeout(t); clearInterval(t); }
  state.timers = {};
}

// ---------------------------------------------------------------- session

function setSession(token, user) {
  state.token = token;
  state.user = user;
  if (token) {
    localStorage.setItem('ticketflow.token', token);
    localStorage.setItem('ticketflow.user', JSON.stringify(user));
  } else {
    localStorage.removeItem('ticketflow.token');
    localStorage.removeItem('ticketflow.user');
  }
  renderWho();
}

function renderWho() {
  const signedIn = Boolean(state.token && state.user);
  $('whoami').textContent = signedIn ? 'Signed in as ' + state.user.email : 'Not signed in';
  $('logout').hidden = !signedIn;
  $('login-link').hidden = signedIn;
  $('nav-door').hidden = !(signedIn && (state.user.role === 'SCANNER' || state.user.role === 'ADMIN'));
}

function requireLogin() {
  state.returnTo = location.hash || '#/';
  location.hash = '#/login';
}

async function submitAuth(form, path, body) {
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    const a = await api('POST', path, body);
    setSession(a.token, a.user);
    clearError();
    form.reset();
    location.hash = state.returnTo && state.returnTo !== '#/login' ? state.returnTo : '#/';
  } catch (e) {
    showError(e);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- views

function show(view) {
  state.view = view;
  if (view !== 'event' && state.stream) {
    state.stream.close();
    state.stream = null;
  }
  if (state.placeStream) {
    state.placeStream.abort();
    state.placeStream = null;
  }
  for (const v of ['auth', 'events', 'event', 'bookings', 'tickets', 'door']) $('view-' + v).hidden = v !== view;
}

async function route() {
  stopTimers();
  const gen = ++state.gen;
  const hash = location.hash.replace(/^#/, '') || '/';
  const m = hash.match(/^\/events\/([^/]+)$/);
  try {
    if (hash === '/login') show('auth');
    else if (m) await openEvent(decodeURIComponent(m[1]), gen);
    else if (hash === '/bookings') {
      if (!state.token) return requireLogin();
      await showBookings(gen);
    } else if (hash === '/tickets') {
      if (!state.token) return requireLogin();
      await showTickets(gen);
    } else if (/^\/door(\/[^/]+)?$/.test(hash)) {
      if (!state.token) return requireLogin();
      await showDoor(gen, decodeURIComponent(hash.slice('/door/'.length)));
    } else await showEvents(gen);
  } catch (e) {
    showError(e);
  }
}

// Events

async function showEvents(gen) {
  show('events');
  $('search-form').elements.search.value = state.search;
  const q = new URLSearchParams({ page: state.page, limit: PAGE_SIZE });
  if (state.search) q.set('search', state.search);
  const data = await api('GET', '/events?' + q);
  if (gen !== state.gen) return;
  const list = $('events');
  list.replaceChildren();
  for (const ev of data.events) {
    const venue = ev.venue ? [ev.venue.name, ev.venue.city].filter(Boolean).join(', ') : '';
    const tz = ev.venue && ev.venue.timezone;
    list.append(el('li', { class: 'card' },
      el('a', { href: '#/events/' + encodeURIComponent(ev.id), 'data-testid': 'event-link' }, ev.name),
      el('p', {}, [when(ev.date, tz), venue, ev.totalSeats ? ev.totalSeats + ' seats' : ''].filter(Boolean).join(' · ')),
      el('p', { 'data-testid': 'event-card-sales' }, [
        ev.sections && ev.sections.length ? 'from ' + money(Math.min(...ev.sections.map((s) => s.priceMinor)), ev.currency) : '',
        salesText(ev)].filter(Boolean).join(' · '))));
  }
  if (!data.events.length) list.append(el('li', {}, state.search ? 'No event matches “' + state.search + '”.' : 'No events yet.'));
  const pages = Math.max(1, Math.ceil(data.total / data.limit));
  $('page-info').textContent = `Page ${data.page} of ${pages} (${data.total} events)`;
  $('prev').disabled = data.page <= 1;
  $('next').disabled = data.page >= pages;
}

// One event and its seat map

async function openEvent(id, gen) {
  show('event');
  if (!state.event || state.event.id !== id) {
    state.event = { id };
    state.seats.clear();
    state.selected.clear();
    state.quantities.clear();
    state.areas.clear();
    state.booking = null;
    $('seat-map').replaceChildren();
    $('event-title').textContent = 'Loading…';
    $('event-meta').textContent = '';
    $('seat-summary').textContent = '';
    $('booking').hidden = true;
    // The last event's booking must not linger in the status: a reader of data-status (a script,
    // a screen reader) would take it for this event's.
    const status = $('booking-status');
    status.textContent = '';
    delete status.dataset.status;
    delete status.dataset.bookingId;
    clearInterval(state.timers.countdown);
    $('booking-countdown').textContent = '';
    state.place = null;
    renderSelection();
  }
  const ev = await api('GET', '/events/' + encodeURIComponent(id));
  if (gen !== state.gen) return;
  state.event = ev;
  $('event-title').textContent = ev.name;
  const venue = ev.venue ? [ev.venue.name, ev.venue.city, ev.venue.country].filter(Boolean).join(', ') : '';
  $('event-meta').textContent = [when(ev.date, ev.venue && ev.venue.timezone), venue, ev.description].filter(Boolean).join(' · ');
  renderSales();
  if (ev.waitingRoom && ev.waitingRoom.enabled) return enterRoom(gen);
  state.place = null;
  $('queue').hidden = true;
  $('admission').hidden = true;
  $('shop').hidden = false;
  await loadSeatMap(gen);
  if (state.booking && !TERMINAL.has(state.booking.status)) pollBooking(state.booking.id, gen);
}

// loadSeatMap reads the event's layout and status snapshot, draws the map and follows the stream.
async function loadSeatMap(gen) {
  const id = state.event.id;
  const base = '/inventory/events/' + encodeURIComponent(id) + '/seats';
  try {
    if (!state.plan || state.plan.layout.eventId !== id) {
      const layout = await api('GET', base + '/layout');
      if (gen !== state.gen) return;
      state.plan = planOf(layout);
      state.section = null;
      state.seats.clear();
    }
    const snap = await api('GET', base + '/status');
    if (gen !== state.gen) return;
    applySnapshot(snap);
    drawSeatMap();
    follow(gen, base);
    clearError('seats');
  } catch (e) {
    if (gen === state.gen) showError(e, 'seats');
  }
}

// planOf indexes a layout: every seat with its section, row, number, label and price, and the
// general-admission areas (sections with a capacity and no rows), booked by quantity.
function planOf(layout) {
  const seats = new Array(layout.seatCount);
  const areas = [];
  for (const sec of layout.sections) {
    if (sec.capacity) areas.push({ section: sec.section, name: sec.name, capacity: sec.capacity, priceMinor: sec.priceMinor });
    for (const row of sec.rows) {
      row.numbers.forEach((n, k) => {
        const i = row.first + k;
        seats[i] = { id: layout.seatIds[i], section: sec.name, row: row.label, number: n,
          label: `${sec.name}, row ${row.label}, seat ${n}`, priceMinor: sec.priceMinor };
      });
    }
  }
  return { layout, seats, areas, index: new Map(layout.seatIds.map((sid, i) => [sid, i])) };
}

// areaName is an area's name by its key (what the API names it by).
function areaName(key) {
  const a = state.areas.get(key);
  return a ? a.name : key;
}

// places words what a booking holds: "seats A-1, A-2", "Pit × 2", or both.
function places(b) {
  const parts = [];
  if (b.seatIds && b.seatIds.length) parts.push('seats ' + b.seatIds.join(', '));
  for (const q of b.quantities || []) parts.push(`${areaName(q.section)} × ${q.quantity}`);
  return parts.join(', ');
}

function applySnapshot(snap) {
  state.version = snap.version;
  state.statuses = new TextEncoder().encode(snap.statuses);
  state.holds = new Map(Object.entries(snap.holds || {}).map(([i, t]) => [Number(i), Date.parse(t)]));
  for (const a of snap.areas || []) state.areas.set(a.section, a);
}

// statusAt is a seat's status as readers see it now: a hold that has expired is available.
function statusAt(i) {
  const st = STATUS_OF[String.fromCharCode(state.statuses[i])] || 'AVAILABLE';
  if (st === 'LOCKED' && state.holds.has(i) && state.holds.get(i) <= Date.now()) return 'AVAILABLE';
  return st;
}

// follow opens the stream of committed changes after the snapshot's version; the browser
// reconnects by itself with Last-Event-ID, and a reset makes the page read the snapshot again.
function follow(gen, base) {
  if (state.stream) state.stream.close();
  if (!window.EventSource) return;
  const es = new EventSource('/api' + base + '/stream?since=' + state.version);
  state.stream = es;
  es.addEventListener('seats', (msg) => {
    if (gen !== state.gen) return es.close();
    applyChanges(JSON.parse(msg.data));
  });
  es.addEventListener('reset', () => {
    es.close();
    if (gen === state.gen) loadSeatMap(gen);
  });
}

function applyChanges(batch) {
  const lost = [];
  const letter = { AVAILABLE: 65, LOCKED: 76, RESERVED: 82 };
  for (const c of batch.changes) {
    if (c.version <= state.version) continue;
    for (const sid of c.seatIds) {
      const i = state.plan.index.get(sid);
      if (i === undefined) continue;
      state.statuses[i] = letter[c.status];
      if (c.status === 'LOCKED' && c.heldUntil) state.holds.set(i, Date.parse(c.heldUntil));
      else state.holds.delete(i);
      if (c.status !== 'AVAILABLE' && state.selected.delete(sid) && !state.submitting) lost.push(sid);
      repaint(i);
    }
    // An area's counts come whole with each change of its places.
    for (const a of c.areas || []) {
      state.areas.set(a.section, a);
      const want = state.quantities.get(a.section) || 0;
      if (want > a.available && !state.submitting) {
        state.quantities.set(a.section, a.available);
        lost.push(`places of ${a.name} (${a.available} left)`);
      }
      paintArea(a.section);
    }
    state.version = c.version;
  }
  renderSummary();
  if (lost.length) showError(new Error('Someone else took ' + lost.join(', ') + ' before you booked; pick again.'));
  renderSelection();
}

// repaint updates one seat where it is drawn (its button, or its section's counts).
function repaint(i) {
  const seat = state.plan.seats[i];
  const entry = state.seats.get(seat.id);
  if (entry) {
    entry.status = statusAt(i);
    paintSeat(entry);
  }
}

function renderSummary() {
  const n = { AVAILABLE: 0, LOCKED: 0, RESERVED: 0 };
  const bySection = new Map();
  state.plan.seats.forEach((seat, i) => {
    const st = statusAt(i);
    n[st]++;
    const c = bySection.get(seat.section) || { AVAILABLE: 0, LOCKED: 0, RESERVED: 0, total: 0 };
    c[st]++; c.total++;
    bySection.set(seat.section, c);
  });
  let total = state.plan.seats.length;
  for (const a of state.areas.values()) {
    n.AVAILABLE += a.available; n.LOCKED += a.locked; n.RESERVED += a.reserved; total += a.capacity;
  }
  $('seat-summary').textContent =
    `${n.AVAILABLE} available · ${n.LOCKED} held · ${n.RESERVED} sold · ${total} ${state.areas.size ? 'seats and places' : 'seats'}`;
  for (const tile of document.querySelectorAll('#seat-map .section-tile')) {
    const c = bySection.get(tile.dataset.section);
    if (c) tile.querySelector('.counts').textContent = `${c.AVAILABLE} of ${c.total} available`;
  }
}

// drawSeatMap draws every seat of a small plan; a large one shows its sections, and the seats of
// the section chosen.
function drawSeatMap() {
  const map = $('seat-map');
  const large = state.plan.seats.length > LARGE_PLAN;
  map.replaceChildren();
  state.seats.clear();
  if (large) {
    const tiles = el('div', { class: 'section-tiles', role: 'group', 'aria-label': 'Sections' });
    for (const sec of state.plan.layout.sections) {
      if (sec.capacity) continue;
      tiles.append(el('button', { type: 'button', class: 'section-tile' + (state.section === sec.name ? ' chosen' : ''),
        'data-section': sec.name, 'data-testid': 'section-' + sec.name, onclick: () => { state.section = sec.name; drawSeatMap(); } },
      el('strong', {}, sec.name), el('span', {}, money(sec.priceMinor, state.event.currency || 'EUR')),
      el('span', { class: 'counts' }, '')));
    }
    map.append(tiles);
  }
  for (const sec of state.plan.layout.sections) {
    if (sec.capacity) { map.append(drawArea(sec)); continue; } // an area is always shown: it has no seats to draw
    if (large && sec.name !== state.section) continue;
    const section = el('div', { class: 'section', 'data-section': sec.name, role: 'group', 'aria-label': sec.name },
      el('h3', {}, sec.name + ' · ' + money(sec.priceMinor, state.event.currency || 'EUR')));
    for (const r of sec.rows) {
      const row = el('div', { class: 'seat-row', role: 'group', 'aria-label': sec.name + ' row ' + r.label },
        el('span', { class: 'row-label', 'aria-hidden': 'true' }, r.label));
      r.numbers.forEach((n, k) => {
        const i = r.first + k;
        const seat = state.plan.seats[i];
        const button = el('button', { type: 'button', class: 'seat', 'data-testid': 'seat-' + seat.id, 'data-seat': seat.id,
          onclick: () => toggleSeat(seat.id) }, String(n));
        row.append(button);
        const entry = { seat, button, status: statusAt(i) };
        state.seats.set(seat.id, entry);
        paintSeat(entry);
      });
      section.append(row);
    }
    map.append(section);
  }
  for (const key of state.areas.keys()) paintArea(key);
  renderSummary();
  renderSales(); // the window may have opened or closed since
  renderSelection();
}

// drawArea draws a general-admission area: its price, the places left (live) and a quantity
// picker of 0 up to what is left (and what one booking may hold).
function drawArea(sec) {
  const key = sec.section;
  const input = el('input', { type: 'number', min: 0, value: state.quantities.get(key) || 0, inputmode: 'numeric',
    id: 'quantity-' + key, 'data-testid': 'quantity-' + key, 'aria-describedby': 'area-left-' + key });
  input.addEventListener('input', () => setQuantity(key, Number(input.value) || 0));
  return el('div', { class: 'section area', 'data-section': sec.name, 'data-area': key, role: 'group', 'aria-label': sec.name },
    el('h3', {}, sec.name + ' · ' + money(sec.priceMinor, state.event.currency || 'EUR') + ' · general admission'),
    el('p', { class: 'area-left', id: 'area-left-' + key, 'data-testid': 'area-left-' + key, 'aria-live': 'polite' }, ''),
    el('div', { class: 'quantity' },
      el('button', { type: 'button', 'data-testid': 'less-' + key, 'aria-label': 'One place less in ' + sec.name,
        onclick: () => setQuantity(key, (state.quantities.get(key) || 0) - 1) }, '−'),
      el('label', { for: 'quantity-' + key }, 'Places'), input,
      el('button', { type: 'button', 'data-testid': 'more-' + key, 'aria-label': 'One place more in ' + sec.name,
        onclick: () => setQuantity(key, (state.quantities.get(key) || 0) + 1) }, '+')));
}

// setQuantity chooses n places of an area: never fewer than 0, more than are left, or more than
// a booking may hold with the seats selected.
function setQuantity(key, n) {
  const a = state.areas.get(key);
  const others = state.selected.size + [...state.quantities].reduce((s, [k, q]) => s + (k === key ? 0 : q), 0);
  const most = Math.max(0, Math.min(a ? a.available : 0, MAX_SEATS - others));
  state.quantities.set(key, Math.max(0, Math.min(n, most)));
  if (n > most && n > 0) showError(new Error(`At most ${most} places of ${areaName(key)} now (${MAX_SEATS} seats and places per booking).`));
  paintArea(key);
  renderSelection();
}

// paintArea shows an area's places left and its picker's bounds.
function paintArea(key) {
  const a = state.areas.get(key);
  const node = document.querySelector(`[data-area="${key}"]`);
  if (!a || !node) return;
  const left = node.querySelector('.area-left');
  left.textContent = `${a.available} of ${a.capacity} places left` + (a.locked ? ` (${a.locked} held)` : '');
  left.dataset.available = a.available;
  const input = node.querySelector('input');
  const q = state.quantities.get(key) || 0;
  input.max = Math.min(a.available, MAX_SEATS);
  input.value = q;
  input.disabled = a.available === 0 && q === 0;
  node.classList.toggle('sold-out', a.available === 0);
}

// refreshSeats brings the map up to date after the page's own booking: the stream does it when it
// is open; without one, the snapshot is read again.
async function refreshSeats(gen) {
  if (state.stream && state.stream.readyState !== EventSource.CLOSED) return renderSelection();
  return loadSeatMap(gen);
}

// Holds run out on their own: repaint the seats whose hold expired since the last look.
setInterval(() => {
  if (!state.plan || state.view !== 'event') return;
  const now = Date.now();
  let changed = false;
  for (const [i, until] of state.holds) {
    if (until <= now) {
      state.holds.delete(i);
      state.statuses[i] = 65; // A
      repaint(i);
      changed = true;
    }
  }
  if (changed) renderSummary();
}, 1000);

function paintSeat(entry) {
  const { seat, button, status } = entry;
  const selected = state.selected.has(seat.id);
  button.className = 'seat ' + status.toLowerCase() + (selected ? ' selected' : '');
  button.dataset.status = status;
  button.disabled = status !== 'AVAILABLE';
  button.setAttribute('aria-pressed', String(selected));
  const label = `${seat.label}, ${STATUS_TEXT[status] || status}, ${money(seat.priceMinor, state.event.currency || 'EUR')}` +
    (selected ? ', selected' : '');
  button.setAttribute('aria-label', label);
  button.title = label;
}

function toggleSeat(id) {
  const entry = state.seats.get(id);
  if (!entry || entry.status !== 'AVAILABLE') return;
  if (state.selected.has(id)) state.selected.delete(id);
  else if (state.selected.size + chosenPlaces() >= MAX_SEATS) return showError(new Error(`You can book at most ${MAX_SEATS} seats and places at once.`));
  else state.selected.add(id);
  paintSeat(entry);
  renderSelection();
}

// chosenPlaces counts the places chosen in every area.
function chosenPlaces() {
  let n = 0;
  for (const q of state.quantities.values()) n += q;
  return n;
}

// chosenQuantities is the booking's quantities: [{section, quantity}] of the areas with places chosen.
function chosenQuantities() {
  return [...state.quantities].filter(([, q]) => q > 0).map(([section, quantity]) => ({ section, quantity }));
}

function renderSelection() {
  const ids = [...state.selected];
  const qs = chosenQuantities();
  let total = ids.reduce((sum, id) => sum + (state.seats.get(id)?.seat.priceMinor || 0), 0);
  for (const q of qs) total += q.quantity * (state.areas.get(q.section)?.priceMinor || 0);
  const parts = [];
  if (ids.length) parts.push(`seats ${ids.join(', ')}`);
  for (const q of qs) parts.push(`${areaName(q.section)} × ${q.quantity}`);
  const n = ids.length + chosenPlaces();
  $('selection').textContent = n
    ? `${n} of at most ${MAX_SEATS} selected: ${parts.join(', ')} · total ${money(total, state.event?.currency || 'EUR')}`
    : `No seats selected (up to ${MAX_SEATS}).`;
  const admitted = !state.place || state.place.state === 'ADMITTED';
  const open = admitted && (!state.event || !state.event.salesEndAt || salesState(state.event) === 'ON_SALE');
  $('book').disabled = n === 0 || !open;
  $('book').textContent = !open ? 'Not on sale' : !state.token ? 'Log in to book' : qs.length ? 'Book selected' : 'Book selected seats';
}

// renderSales shows the event's sales window and its per-buyer limit, at the venue's time.
function renderSales() {
  const ev = state.event;
  const node = $('event-sales');
  if (!ev || !ev.salesEndAt) { node.textContent = ''; return; }
  const tz = ev.venue && ev.venue.timezone;
  const sales = salesState(ev);
  node.dataset.sales = sales;
  node.textContent = `Sales: ${when(ev.salesStartAt, tz)} to ${when(ev.salesEndAt, tz)}` +
    (sales === 'SALES_NOT_STARTED' ? ' — not on sale yet.' : sales === 'SALES_CLOSED' ? ' — sales have closed.' : ' — on sale now.') +
    (ev.maxSeatsPerBuyer ? ` At most ${ev.maxSeatsPerBuyer} seats per buyer.` : '');
}

async function submitBooking(form) {
  if (!state.token) return requireLogin();
  const seatIds = [...state.selected];
  const quantities = chosenQuantities();
  if (!seatIds.length && !quantities.length) return;
  const gen = state.gen;
  $('book').disabled = true;
  state.submitting = true; // our own seats turn LOCKED under the selection meanwhile
  try {
    const headers = { 'Idempotency-Key': randomKey() };
    if (state.place && state.place.admissionToken) headers['Admission-Token'] = state.place.admissionToken;
    const body = { eventId: state.event.id, seatIds, paymentMethod: { type: 'card', token: form.elements.token.value } };
    if (quantities.length) body.quantities = quantities;
    const b = await api('POST', '/bookings', body, headers);
    clearError();
    state.selected.clear();
    state.quantities.clear();
    for (const key of state.areas.keys()) paintArea(key);
    showBooking(b);
    pollBooking(b.id, gen);
  } catch (e) {
    showError(e); // 409 SEATS_UNAVAILABLE names the taken seats and the short areas: they leave the selection
    for (const id of (e.details && e.details.unavailableSeatIds) || []) state.selected.delete(id);
    for (const key of (e.details && e.details.unavailableSections) || []) { state.quantities.delete(key); paintArea(key); }
    if (e.code === 'ADMISSION_REQUIRED' || e.code === 'ADMISSION_INVALID') { // back to the line
      state.submitting = false;
      return enterRoom(gen);
    }
  } finally {
    state.submitting = false;
    if (gen === state.gen) await refreshSeats(gen);
  }
}

// The waiting room: an event that has one shows the buyer's place in its line, pushed by the
// place's stream (read with fetch: EventSource cannot send the Authorization header) or polled
// every PLACE_POLL_MS, until the buyer is let in; then the seat map, with the time left to buy.

async function enterRoom(gen) {
  $('queue').hidden = false;
  $('shop').hidden = true;
  $('admission').hidden = true;
  $('queue-join').hidden = true;
  if (!state.token) {
    $('queue-status').textContent = 'This on-sale has a waiting room. Log in to join the line.';
    $('queue-position').textContent = '';
    $('queue-wait').textContent = '';
    $('queue-login').hidden = false;
    return;
  }
  $('queue-login').hidden = true;
  $('queue-status').textContent = 'Joining the line…';
  try {
    const p = await api('POST', '/events/' + encodeURIComponent(state.event.id) + '/queue');
    if (gen !== state.gen) return;
    clearError('queue');
    await showPlace(p, gen);
    followPlace(gen);
  } catch (e) {
    if (gen !== state.gen) return;
    showError(e, 'queue');
    if (e.status !== 401) state.timers.queue = setTimeout(() => enterRoom(gen), PLACE_POLL_MS);
  }
}

// showPlace shows the buyer's place; once admitted, the seat map and the time left.
async function showPlace(p, gen) {
  const was = state.place && state.place.state;
  state.place = p;
  const q = $('queue');
  q.dataset.state = p.state;
  q.hidden = p.state === 'ADMITTED';
  $('queue-join').hidden = p.state !== 'EXPIRED';
  const pos = $('queue-position');
  pos.dataset.position = p.position ?? '';
  const tz = state.event.venue && state.event.venue.timezone;
  if (p.state === 'WAITING' && p.position == null) {
    $('queue-status').textContent = 'You are in the line. The sale opens ' + when(p.opensAt, tz) +
      ': everyone in line by then is given a random place, so there is no need to hurry.';
    pos.textContent = '';
  } else if (p.state === 'WAITING') {
    $('queue-status').textContent = p.soldOut
      ? 'Sold out for now: you keep your place in case seats come back.'
      : 'You are in the line. Keep this page open: the seat map opens when it is your turn.';
    pos.textContent = `You are number ${p.position} in line (${p.ahead} ahead of you).`;
  } else if (p.state === 'EXPIRED') {
    $('queue-status').textContent = 'Your turn has ended. Join the line again to buy more.';
    pos.textContent = '';
  }
  $('queue-wait').textContent = p.state === 'WAITING' && p.estimatedWaitSeconds != null
    ? 'Estimated wait: about ' + duration(p.estimatedWaitSeconds) + '.' : '';
  renderAdmission();
  renderSelection();
  if (p.state === 'ADMITTED') {
    $('shop').hidden = false;
    if (was !== 'ADMITTED') await loadSeatMap(gen);
  } else {
    $('shop').hidden = true;
  }
}

function duration(sec) {
  if (sec < 60) return sec + ' s';
  const m = Math.round(sec / 60);
  return m < 60 ? m + ' min' : Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
}

// renderAdmission counts down the admitted buyer's time to book.
function renderAdmission() {
  const node = $('admission');
  clearInterval(state.timers.admission);
  const p = state.place;
  if (!p || p.state !== 'ADMITTED') { node.hidden = true; return; }
  node.hidden = false;
  const tick = () => {
    const left = Math.ceil((new Date(p.admittedUntil) - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(state.timers.admission);
      showPlace({ ...p, state: 'EXPIRED', admissionToken: undefined }, state.gen);
      return;
    }
    const mm = Math.floor(left / 60), ss = String(left % 60).padStart(2, '0');
    node.textContent = `It is your turn: you have ${mm}:${ss} to book.`;
  };
  tick();
  state.timers.admission = setInterval(tick, 500);
}

// followAt is where to follow the place: the URL its answer named (key: streamUrl or pollUrl: the
// room servers', apart from the gateway), or the gateway's own path for 30 s after the room could
// not be reached or answered 5xx (roomUnavailable); the gateway answers the same reads.
function followAt(key, gatewayPath) {
  const url = state.place && state.place[key];
  return url && Date.now() >= state.followAtGatewayUntil ? url : gatewayPath;
}

function roomUnavailable() { state.followAtGatewayUntil = Date.now() + 30_000; }

// followPlace reads the place's stream; when it ends or cannot be opened, polls instead.
async function followPlace(gen) {
  if (state.placeStream) state.placeStream.abort();
  const ctrl = new AbortController();
  state.placeStream = ctrl;
  const gatewayPath = '/api/events/' + encodeURIComponent(state.event.id) + '/queue/stream';
  const path = followAt('streamUrl', gatewayPath);
  try {
    let res;
    try {
      res = await fetch(path, { headers: { Accept: 'text/event-stream', Authorization: 'Bearer ' + state.token },
        signal: ctrl.signal });
    } catch (e) {
      if (path !== gatewayPath && !ctrl.signal.aborted) roomUnavailable(); // not reached at all
      throw e;
    }
    if (res.status >= 500 && path !== gatewayPath) roomUnavailable();
    if (!res.ok || !res.body) throw new Error('stream answered ' + res.status);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done || gen !== state.gen) break;
      buf += value;
      for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
        const data = buf.slice(0, i).split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        buf = buf.slice(i + 2);
        if (data) await showPlace(JSON.parse(data), gen);
      }
    }
  } catch (e) {
    if (ctrl.signal.aborted) return; // a stream that broke midway: poll the same server, below
  }
  if (state.placeStream === ctrl) state.placeStream = null;
  if (gen === state.gen && state.place && state.place.state !== 'EXPIRED') pollPlace(gen);
}

function pollPlace(gen) {
  clearTimeout(state.timers.queue);
  state.timers.queue = setTimeout(async () => {
    if (gen !== state.gen) return;
    const gatewayPath = '/api/events/' + encodeURIComponent(state.event.id) + '/queue';
    const url = followAt('pollUrl', gatewayPath);
    try {
      const p = await api('GET', url);
      if (gen !== state.gen) return;
      clearError('queue');
      await showPlace(p, gen);
      if (p.state === 'EXPIRED') return;
    } catch (e) {
      if (gen !== state.gen) return;
      if (url !== gatewayPath && (e.status === 0 || e.status >= 500)) roomUnavailable();
      showError(e, 'queue');
      if (e.status === 404) return enterRoom(gen); // the line was reset, or the room switched off
      if (e.status === 401) return;
    }
    pollPlace(gen);
  }, PLACE_POLL_MS);
}

// The booking under the seat map, polled until its status is terminal

function showBooking(b) {
  state.booking = b;
  $('booking').hidden = false;
  const status = $('booking-status');
  status.textContent = b.status;
  status.dataset.status = b.status;
  status.dataset.bookingId = b.id;
  status.className = 'status ' + b.status.toLowerCase();
  $('booking-reason').textContent = b.failureReason || (b.status === 'CONFIRMED' ? 'Payment received; your seats are yours.' : '');
  $('booking-detail').textContent = `Booking ${b.id} · ${b.eventName} · ${places(b)} · ${money(b.amountMinor, b.currency)}`;
  renderCountdown();
}

function renderCountdown() {
  const b = state.booking;
  const node = $('booking-countdown');
  clearInterval(state.timers.countdown);
  if (!b || b.status !== 'PENDING' || !b.holdExpiresAt) { node.textContent = ''; return; }
  const tick = () => {
    const left = Math.ceil((new Date(b.holdExpiresAt) - Date.now()) / 1000);
    node.textContent = left > 0
      ? `Your seats are held for ${left} s while the payment is taken.`
      : 'The hold has run out; waiting for the final status…';
  };
  tick();
  state.timers.countdown = setInterval(tick, 500);
}

function pollBooking(id, gen) {
  clearTimeout(state.timers.booking);
  state.timers.booking = setTimeout(async () => {
    if (gen !== state.gen) return;
    try {
      const b = await api('GET', '/bookings/' + encodeURIComponent(id));
      if (gen !== state.gen) return;
      showBooking(b);
      clearError('booking');
      if (TERMINAL.has(b.status)) return refreshSeats(gen);
    } catch (e) {
      if (gen !== state.gen) return;
      showError(e, 'booking');
      if (e.status === 401 || e.status === 404) return;
    }
    pollBooking(id, gen);
  }, BOOKING_POLL_MS);
}

// My bookings

async function showBookings(gen) {
  show('bookings');
  const list = await api('GET', '/bookings/my');
  if (gen !== state.gen) return;
  const ul = $('bookings');
  ul.replaceChildren();
  $('bookings-empty').hidden = list.length > 0;
  for (const b of list) {
    const cancellable = b.status === 'PENDING' || b.status === 'CONFIRMED';
    ul.append(el('li', { class: 'card', 'data-testid': 'booking-' + b.id, 'data-status': b.status },
      el('a', { href: '#/events/' + encodeURIComponent(b.eventId) }, b.eventName),
      el('p', {}, places(b) + ' · ' + money(b.amountMinor, b.currency) + ' · ' + when(b.createdAt)),
      el('p', {}, 'Status: ', el('strong', { class: 'status ' + b.status.toLowerCase(), 'data-testid': 'status-' + b.id }, b.status),
        b.failureReason ? ' — ' + b.failureReason : ''),
      cancellable ? el('button', {
        type: 'button', 'data-testid': 'cancel-' + b.id,
        'aria-label': `Cancel the booking for ${b.eventName}, ${places(b)}`,
        onclick: (ev) => cancelBooking(b, ev.currentTarget),
      }, 'Cancel booking') : null));
  }
}

async function cancelBooking(b, button) {
  const refund = b.status === 'CONFIRMED' ? ' You will be refunded.' : '';
  if (!window.confirm(`Cancel your booking for ${b.eventName} (${places(b)})?${refund}`)) return;
  button.disabled = true;
  try {
    await api('POST', '/bookings/' + encodeURIComponent(b.id) + '/cancel');
    clearError();
  } catch (e) {
    showError(e);
  }
  await showBookings(state.gen).catch(showError);
}

// My tickets

async function showTickets(gen) {
  show('tickets');
  const { tickets } = await api('GET', '/tickets/my?limit=100');
  if (gen !== state.gen) return;
  const ul = $('tickets');
  ul.replaceChildren();
  $('tickets-empty').hidden = tickets.length > 0;
  for (const t of tickets) {
    const valid = t.status === 'VALID';
    ul.append(el('li', { class: 'card', 'data-testid': 'ticket-' + t.id, 'data-status': t.status, 'data-seat': t.seatId },
      el('a', { href: '#/events/' + encodeURIComponent(t.eventId) }, t.eventName),
      el('p', {}, 'Seat ' + t.seatId + ' · ' + when(t.eventStartsAt) + ' · holder ' + t.holderName),
      el('p', {}, 'Status: ', el('strong', { class: 'status ' + t.status.toLowerCase() }, t.status),
        t.checkedInAt ? ' — checked in ' + when(t.checkedInAt) + (t.gate ? ' at ' + t.gate : '') : '',
        t.revokedReason ? ' — ' + t.revokedReason : ''),
      valid && t.qr ? el('img', { class: 'qr', src: t.qr, alt: 'QR code of the ticket for seat ' + t.seatId, 'data-testid': 'qr-' + t.seatId }) : null,
      valid ? el('details', {}, el('summary', {}, 'The code (for a scanner that takes it pasted)'), el('code', {}, t.credential)) : null,
      valid && !t.checkedInAt ? transferForm(t) : null));
  }
}

// transferForm hands a ticket to another registered account: its code stops admitting anyone
// and the new holder gets a ticket of their own.
function transferForm(t) {
  const input = el('input', { type: 'email', name: 'email', required: true, 'data-testid': 'transfer-email-' + t.id,
    'aria-label': 'Email of the account to transfer seat ' + t.seatId + ' to' });
  const form = el('form', { 'data-testid': 'transfer-' + t.id }, el('label', {}, 'Transfer to (their TicketFlow email)', input),
    el('button', { type: 'submit' }, 'Transfer'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!window.confirm(`Transfer seat ${t.seatId} to ${input.value}? Your code for it will stop working.`)) return;
    try {
      await api('POST', '/tickets/' + encodeURIComponent(t.id) + '/transfer', { email: input.value.trim() });
      clearError();
    } catch (err) {
      showError(err);
    }
    await showTickets(state.gen).catch(showError);
  });
  return form;
}

// ---------------------------------------------------------------- the door
//
// Door staff check tickets in here. Online, the ticket service decides (POST /api/checkins): once
// per ticket, whichever gate is first. When the network is down, the page decides alone, with what
// it fetched last and kept in localStorage: the public keys (GET /api/tickets/keys) verify the
// ticket's Ed25519 signature in the browser (WebCrypto), the event's revocation list
// (GET /api/events/{id}/revocations) refuses revoked tickets, and the tickets this door admitted
// offline are refused a second time. Offline admissions are queued and uploaded in one batch when
// the network is back (POST /api/checkins/batch), where the earliest scan of a ticket wins.

const DOOR_SYNC_MS = 60_000;
const door = {
  keys: JSON.parse(localStorage.getItem('ticketflow.door.keys') || 'null'),  // {fetchedAt, keys: [jwk]}
  lists: JSON.parse(localStorage.getItem('ticketflow.door.lists') || '{}'), // eventId -> {fetchedAt, etag, revoked}
  queue: JSON.parse(localStorage.getItem('ticketflow.door.queue') || '[]'), // offline scans not uploaded
  seen: JSON.parse(localStorage.getItem('ticketflow.door.seen') || '{}'),   // ticketId -> {at, gate}, admitted here offline
};

function saveDoor() {
  localStorage.setItem('ticketflow.door.keys', JSON.stringify(door.keys));
  localStorage.setItem('ticketflow.door.lists', JSON.stringify(door.lists));
  localStorage.setItem('ticketflow.door.queue', JSON.stringify(door.queue));
  localStorage.setItem('ticketflow.door.seen', JSON.stringify(door.seen));
}

// showDoor opens the door, for the event named in the hash (#/door/<eventId>) or the last one.
async function showDoor(gen, eventId) {
  show('door');
  const role = state.user && state.user.role;
  if (role !== 'SCANNER' && role !== 'ADMIN') {
    showError(new ApiError(403, 'FORBIDDEN', 'The door is for door staff: log in with a SCANNER (or ADMIN) account.'));
    return;
  }
  const select = $('door-event');
  if (!select.options.length) {
    try {
      const { events } = await api('GET', '/events?limit=100&when=all');
      for (const ev of events) select.append(el('option', { value: ev.id }, ev.name + ' · ' + when(ev.date)));
    } catch (e) {
      if (e.status !== 0) throw e; // offline: the events the page knew are gone with a reload; keep going
    }
  }
  const wanted = eventId || localStorage.getItem('ticketflow.door.event');
  if (wanted && ![...select.options].some((o) => o.value === wanted)) {
    try {
      const ev = await api('GET', '/events/' + encodeURIComponent(wanted));
      select.append(el('option', { value: ev.id }, ev.name + ' · ' + when(ev.date)));
    } catch { /* not an event (or offline): the list stays as it is */ }
  }
  if (wanted && [...select.options].some((o) => o.value === wanted)) select.value = wanted;
  if (gen !== state.gen) return;
  renderDoorState();
  await syncDoor().catch(() => {});
  state.timers.door = setInterval(() => syncDoor().catch(() => {}), DOOR_SYNC_MS);
}

// syncDoor fetches the keys and the selected event's revocation list (If-None-Match: unchanged
// lists cost a 304), keeps them for offline checks, and uploads offline scans first.
async function syncDoor() {
  const eventId = $('door-event').value;
  if (door.queue.length) await uploadScans();
  const keys = await api('GET', '/tickets/keys');
  door.keys = { fetchedAt: new Date().toISOString(), keys: keys.keys };
  if (eventId) {
    const kept = door.lists[eventId];
    const res = await fetch('/api/events/' + encodeURIComponent(eventId) + '/revocations', {
      headers: { Accept: 'application/json', Authorization: 'Bearer ' + state.token, ...(kept ? { 'If-None-Match': kept.etag } : {}) },
    });
    if (res.status === 200) {
      const list = await res.json();
      door.lists[eventId] = { fetchedAt: new Date().toISOString(), etag: res.headers.get('ETag'), revoked: list.revoked };
    } else if (res.status === 304 && kept) {
      kept.fetchedAt = new Date().toISOString();
    } else {
      throw new ApiError(res.status, 'HTTP_' + res.status, 'the revocation list could not be read');
    }
  }
  saveDoor();
  renderDoorState();
}

function renderDoorState() {
  const eventId = $('door-event').value;
  const list = door.lists[eventId];
  const parts = [];
  parts.push(door.keys ? `${door.keys.keys.length} key(s) fetched ${when(door.keys.fetchedAt)}` : 'no keys fetched yet');
  parts.push(list ? `revocation list (${list.revoked.length} revoked) fetched ${when(list.fetchedAt)}` : 'no revocation list for this event yet');
  $('door-sync-state').textContent = 'For offline checks: ' + parts.join('; ') + '.';
  $('door-queue').textContent = door.queue.length ? `${door.queue.length} scan(s) made offline, not uploaded yet.` : (door.uploaded || '');
  $('door-upload').hidden = door.queue.length === 0;
}

function showDoorResult(ok, headline, detail) {
  const box = $('door-result');
  box.hidden = false;
  box.className = 'door-result ' + (ok ? 'ok' : 'bad');
  box.dataset.outcome = ok ? 'admitted' : 'refused';
  $('door-headline').textContent = (ok ? '✔ ' : '✖ ') + headline;
  $('door-detail').textContent = detail;
}

function b64url(s) {
  s = s.replace(/-/g, '+').replace(/_/g, '/');
  while (s.length % 4) s += '=';
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

// verifyOffline checks a code as a scanner without network does: a compact JWS, EdDSA, a key
// the page fetched, a signature that verifies (Ed25519 in WebCrypto), the selected event, and not
// on the revocation list. It answers {ok, claims} or {ok: false, code, text}.
async function verifyOffline(code, eventId) {
  const refuse = (c, text) => ({ ok: false, code: c, text });
  const parts = code.trim().split('.');
  let header, claims;
  try {
    if (parts.length !== 3) throw new Error('not three parts');
    header = JSON.parse(new TextDecoder().decode(b64url(parts[0])));
    claims = JSON.parse(new TextDecoder().decode(b64url(parts[1])));
  } catch {
    return refuse('CREDENTIAL_MALFORMED', 'This is not a TicketFlow ticket.');
  }
  if (header.alg !== 'EdDSA' || header.typ !== 'ticketflow-ticket+jwt' || !claims.tid) {
    return refuse('CREDENTIAL_MALFORMED', 'This is not a TicketFlow ticket.');
  }
  const jwk = door.keys && door.keys.keys.find((k) => k.kid === header.kid);
  if (!jwk) return refuse('CREDENTIAL_UNKNOWN_KEY', 'Signed with a key this door does not know (refresh the keys when online).');
  let valid = false;
  try {
    const key = await crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, { name: 'Ed25519' }, false, ['verify']);
    valid = await crypto.subtle.verify({ name: 'Ed25519' }, key, b64url(parts[2]), new TextEncoder().encode(parts[0] + '.' + parts[1]));
  } catch {
    valid = false;
  }
  if (!valid) return refuse('CREDENTIAL_BAD_SIGNATURE', 'The signature does not match: this ticket was altered.');
  if (eventId && claims.eid !== eventId) return refuse('WRONG_EVENT', 'This ticket is for another event.');
  const list = door.lists[eventId];
  if (list && list.revoked.includes(claims.tid)) return refuse('TICKET_REVOKED', 'This ticket was revoked (cancelled, refunded or transferred).');
  return { ok: true, claims };
}

async function checkIn(form) {
  const code = $('door-code').value.trim();
  const gate = $('door-gate').value.trim();
  const eventId = $('door-event').value;
  if (!code || !gate) return;
  localStorage.setItem('ticketflow.door.event', eventId);
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  try {
    try {
      const a = await api('POST', '/checkins', { credential: code, gate, eventId });
      showDoorResult(true, a.seatId, `${a.holderName} · admitted at ${a.gate}`);
      clearError();
      if (door.queue.length) uploadScans().catch(() => {});
    } catch (e) {
      if (e.status !== 0) {
        const d = e.details || {};
        const first = e.code === 'ALREADY_CHECKED_IN' ? ` First scan: ${when(d.checkedInAt)} at ${d.gate}.` : '';
        showDoorResult(false, e.code.replace(/_/g, ' '), e.message + '.' + first);
        return;
      }
      await checkInOffline(code, gate, eventId);
    }
  } finally {
    button.disabled = false;
    $('door-code').value = '';
    $('door-code').focus();
  }
}

// checkInOffline decides alone, with the keys and list fetched last, and queues the admission.
async function checkInOffline(code, gate, eventId) {
  const v = await verifyOffline(code, eventId);
  if (!v.ok) {
    showDoorResult(false, v.code.replace(/_/g, ' '), v.text + ' (checked offline)');
    return;
  }
  const seen = door.seen[v.claims.tid];
  if (seen) {
    showDoorResult(false, 'ALREADY CHECKED IN', `Admitted here offline at ${when(seen.at)}, gate ${seen.gate}.`);
    return;
  }
  const at = new Date().toISOString();
  door.seen[v.claims.tid] = { at, gate };
  door.queue.push({ credential: code, gate, scannedAt: at, eventId });
  saveDoor();
  renderDoorState();
  showDoorResult(true, v.claims.seat, `${v.claims.name} · admitted offline at ${gate}; uploaded when the network is back`);
}

// uploadScans sends the offline scans, per event, in one batch each; the results are the
// server's reconciliation (the earliest scan of a ticket wins). One upload at a time: a second
// call while one is under way waits for it.
function uploadScans() {
  if (!door.uploading) door.uploading = uploadQueued().finally(() => { door.uploading = null; });
  return door.uploading;
}

async function uploadQueued() {
  const byEvent = new Map();
  for (const s of door.queue) {
    if (!byEvent.has(s.eventId)) byEvent.set(s.eventId, []);
    byEvent.get(s.eventId).push({ credential: s.credential, gate: s.gate, scannedAt: s.scannedAt });
  }
  const totals = { admitted: 0, duplicates: 0, refused: 0 };
  for (const [eventId, scans] of byEvent) {
    const r = await api('POST', '/checkins/batch', { eventId, scans });
    totals.admitted += r.admitted;
    totals.duplicates += r.duplicates;
    totals.refused += r.refused;
    door.queue = door.queue.filter((s) => s.eventId !== eventId);
    saveDoor();
  }
  door.uploaded = `Offline scans uploaded: ${totals.admitted} admitted, ${totals.duplicates} duplicate(s), ${totals.refused} refused.`;
  renderDoorState();
}

// ---------------------------------------------------------------- wiring

function init() {
  $('signup-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = e.currentTarget.elements;
    submitAuth(e.currentTarget, '/users/register', { name: f.name.value.trim(), email: f.email.value.trim(), password: f.password.value });
  });
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const f = e.currentTarget.elements;
    submitAuth(e.currentTarget, '/users/login', { email: f.email.value.trim(), password: f.password.value });
  });
  $('logout').addEventListener('click', () => { setSession(null, null); location.hash = '#/'; renderSelection(); });
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.search = e.currentTarget.elements.search.value.trim();
    state.page = 1;
    route();
  });
  $('prev').addEventListener('click', () => { state.page--; route(); });
  $('next').addEventListener('click', () => { state.page++; route(); });
  $('book-form').addEventListener('submit', (e) => { e.preventDefault(); submitBooking(e.currentTarget); });
  $('queue-login').addEventListener('click', () => requireLogin());
  $('queue-join').addEventListener('click', () => { clearTimeout(state.timers.queue); enterRoom(state.gen); });
  $('bookings-refresh').addEventListener('click', () => route());
  $('tickets-refresh').addEventListener('click', () => route());
  $('door-form').addEventListener('submit', (e) => { e.preventDefault(); checkIn(e.currentTarget).catch(showError); });
  $('door-sync').addEventListener('click', () => syncDoor().then(() => clearError()).catch(showError));
  $('door-upload').addEventListener('click', () => uploadScans().catch(showError));
  $('door-event').addEventListener('change', () => {
    localStorage.setItem('ticketflow.door.event', $('door-event').value);
    renderDoorState();
    syncDoor().catch(() => {});
  });
  window.addEventListener('online', () => { if (state.view === 'door') syncDoor().catch(() => {}); });
  $('error-close').addEventListener('click', () => clearError());
  window.addEventListener('hashchange', route);
  window.addEventListener('error', (e) => showError(e.error || e.message));
  window.addEventListener('unhandledrejection', (e) => showError(e.reason));
  renderWho();
  fetch('/currencies.json').then((r) => r.json()).then((x) => { state.exponents = x; }).catch(() => {})
    .finally(route);
}

init();
