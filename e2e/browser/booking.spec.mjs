// Browser test of TicketFlow's web page: Debian's headless Chromium driven by playwright-core.
//
//   GATEWAY_URL=http://127.0.0.1:3100 [SECOND_GATEWAY_URL=http://127.0.0.1:3143] node booking.spec.mjs
//
// The second browser opens the page through SECOND_GATEWAY_URL when it is set (another gateway
// replica): the page works through either gateway, and the changes the buyer makes through one
// are pushed live to a page served by the other.
//
// A new user signs up, opens a fresh event, books two seats with tok_visa and sees CONFIRMED; a
// second (anonymous) browser sees those seats RESERVED; a tok_chargeDeclined booking ends FAILED
// with the decline message; a tok_noResponse booking stays PENDING and its seat shows LOCKED on
// the second browser; "My bookings" lists all three, and cancelling the pending and the confirmed
// one frees their seats on the second browser, live; two places of the event's general-admission
// area are booked with the quantity picker (CONFIRMED), and the second browser's count of places
// left drops by two, live; on an event with a waiting room the page shows the buyer's place moving
// toward the front, then the seat map with the time left to book, and books with the admission.
// "My tickets" shows a QR code per confirmed seat; a door-staff browser (a SCANNER account) admits
// one of them once, refuses it the second time and refuses garbage; once the booking is
// cancelled, offline, it refuses the revoked ticket, admits a valid one and refuses it again from
// what it fetched last, then uploads the offline scan. A
// screenshot is saved after every step. Exits 1 on any failure. Playwright never downloads a
// browser here: it only launches /usr/bin/chromium.
import { chromium } from 'playwright-core';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const GATEWAY = (process.env.GATEWAY_URL || 'http://127.0.0.1:3100').replace(/\/+$/, '');
const VISITOR_GATEWAY = (process.env.SECOND_GATEWAY_URL || GATEWAY).replace(/\/+$/, '');
const ROOM = (process.env.ROOM_URL || 'http://127.0.0.1:3900').replace(/\/+$/, ''); // the waiting room's server
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = resolve(process.env.SCREENSHOT_DIR || join(here, 'screenshots'));
const ADMIN_EMAIL = process.env.ADMIN_EMAIL || 'admin@ticketflow.local';
const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD || 'admin-password-123';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = 30_000; // longest wait for one expectation (a booking settles in about a second)

const uniq = randomBytes(5).toString('hex');
const cleanups = [];
const consoleLines = [];
let stepNo = 0;

function log(...a) { console.log(new Date().toISOString().slice(11, 23), ...a); }

// waitFor polls check() until it returns a truthy value; on timeout it fails with what() (the
// last observed state), so a failure says what the page showed instead.
async function waitFor(what, check, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) {
      let seen = '';
      try { seen = await what.observe(); } catch { /* page gone */ }
      throw new Error(`timed out after ${timeout / 1000}s waiting for ${what.text}` +
        (seen ? `; the page shows: ${seen}` : '') + (last ? ` (last error: ${last})` : ''));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// observe describes what a page shows that matters when a wait fails: the error banner and the
// booking status.
function observer(page) {
  return async () => {
    const parts = [];
    if (await page.getByTestId('error').isVisible()) parts.push('error banner "' + (await page.getByTestId('error').innerText()).trim() + '"');
    if (await page.getByTestId('booking-status').isVisible()) {
      parts.push('booking status ' + (await page.getByTestId('booking-status').innerText()) + ' "' +
        (await page.getByTestId('booking-reason').innerText()) + '"');
    }
    return parts.join('; ') || 'no error and no booking';
  };
}

async function step(name, page, fn) {
  stepNo++;
  const label = String(stepNo).padStart(2, '0') + '-' + name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  log(`STEP ${stepNo}: ${name}`);
  try {
    await fn();
  } catch (e) {
    const file = join(SHOTS, label + '-FAILED.png');
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    e.message = `step ${stepNo} "${name}": ${e.message}\n  screenshot: ${file}`;
    throw e;
  }
  const file = join(SHOTS, label + '.png');
  await page.screenshot({ path: file, fullPage: true });
  log(`  ok (${file})`);
}

async function api(method, path, body, token) {
  const res = await fetch(GATEWAY + path, {
    method, body: body && JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: 'Bearer ' + token } : {}) },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

// A fresh event (one row of 8 seats, FLOOR-A-1..8, and a general-admission area Pit of 20
// places), so the test never depends on seed data left; fields overrides its body (a sales
// window, a currency).
async function createEvent(fields = {}) {
  const { token } = await api('POST', '/api/users/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  const venue = await api('POST', '/api/venues', { name: 'Browser Hall ' + uniq, address: '1 Test St', city: 'Testville',
    country: 'NO', timezone: 'Europe/Oslo' }, token);
  const date = new Date(Date.now() + 90 * 86400e3);
  date.setUTCHours(19, 0, 0, 0);
  return api('POST', '/api/events', {
    name: 'Browser test ' + uniq, description: 'Made by e2e/browser/booking.spec.mjs', venueId: venue.id,
    date: date.toISOString(), currency: 'EUR', tags: ['test'],
    sections: [{ name: 'Floor', priceMinor: 4500, rows: [{ label: 'A', seats: 8 }] },
      { name: 'Pit', priceMinor: 3000, capacity: 20 }], ...fields,
  }, token);
}

// launch starts Chromium with a fresh profile directory of its own.
async function launch(name) {
  const dir = await mkdtemp(join(tmpdir(), 'ticketflow-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1100, height: 900 }, locale: 'en-US',
  });
  cleanups.push(async () => { await context.close().catch(() => {}); await rm(dir, { recursive: true, force: true }); });
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => consoleLines.push(`[${name} console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[${name} uncaught] ${e.message}`));
  page.on('dialog', (d) => d.accept());
  return page;
}

const seat = (page, id) => page.getByTestId('seat-' + id);
const placesLeft = (page, area) => page.getByTestId('area-left-' + area).getAttribute('data-available');
const seatStatus = (page, id) => seat(page, id).getAttribute('data-status');

async function availableSeats(page, n) {
  const ids = await page.locator('[data-testid^="seat-"][data-status="AVAILABLE"]').evaluateAll(
    (els, n) => els.slice(0, n).map((e) => e.dataset.seat), n);
  if (ids.length < n) throw new Error(`only ${ids.length} AVAILABLE seats, need ${n}`);
  return ids;
}

async function bookAndWait(page, seatIds, card, want) {
  for (const id of seatIds) await seat(page, id).click();
  await waitFor({ text: 'the selection to name the seats', observe: observer(page) },
    async () => (await page.getByTestId('selection').innerText()).includes(seatIds.join(', ')));
  return submitAndWait(page, card, want);
}

// submitAndWait books what is selected with card and waits for the booking status want, checking
// that PENDING with the hold's countdown came first.
async function submitAndWait(page, card, want) {
  await page.getByTestId('card').selectOption(card);
  // Record every status the page shows, with the countdown beside it, to see PENDING come first.
  await page.evaluate(() => {
    window.__seen = [];
    const status = document.querySelector('[data-testid="booking-status"]');
    const countdown = document.querySelector('[data-testid="booking-countdown"]');
    new MutationObserver(() => {
      const last = window.__seen[window.__seen.length - 1];
      if (!last || last.status !== status.textContent || last.id !== status.dataset.bookingId) {
        window.__seen.push({ id: status.dataset.bookingId, status: status.textContent, countdown: countdown.textContent });
      }
    }).observe(status, { childList: true, characterData: true, subtree: true });
  });
  // The booking shown before this one (if any) may already have the wanted status: wait for a new id.
  const before = await page.getByTestId('booking-status').getAttribute('data-booking-id');
  await page.getByTestId('book').click();
  await waitFor({ text: `booking status ${want}`, observe: observer(page) },
    async () => (await page.getByTestId('booking-status').getAttribute('data-booking-id')) !== before &&
      (await page.getByTestId('booking-status').getAttribute('data-status')) === want);
  // Only this booking's statuses (a booking shown before it may still change under the observer).
  const id = await page.getByTestId('booking-status').getAttribute('data-booking-id');
  const seen = (await page.evaluate(() => window.__seen)).filter((s) => s.id === id);
  if (seen[0]?.status !== 'PENDING' || !/held for \d+ s/.test(seen[0].countdown)) {
    throw new Error('the booking did not show PENDING with a hold countdown first: ' + JSON.stringify(seen));
  }
  log('  statuses shown:', seen.map((s) => s.status + (s.countdown ? ` (${s.countdown})` : '')).join(' → '));
  return id;
}

// ticketsOf waits for a booking's tickets (issued when it is CONFIRMED) and returns them.
async function ticketsOf(bookingId, token, n) {
  const deadline = Date.now() + WAIT;
  for (;;) {
    const res = await fetch(`${GATEWAY}/api/bookings/${bookingId}/tickets`, { headers: { Authorization: 'Bearer ' + token } });
    if (res.ok) {
      const { tickets } = await res.json();
      if (tickets.length >= n) return tickets;
    }
    if (Date.now() > deadline) throw new Error(`booking ${bookingId} has no ${n} tickets after ${WAIT / 1000}s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

// doorResult waits for the door's answer and returns it: {outcome, headline, detail}.
async function doorResult(door, want) {
  const box = door.getByTestId('door-result');
  return waitFor({ text: `the door to answer ${want}`, observe: async () => (await box.isVisible()) ? await box.innerText() : 'no answer' },
    async () => {
      if (!(await box.isVisible()) || (await box.getAttribute('data-outcome')) !== want) return null;
      return { headline: await door.getByTestId('door-headline').innerText(), detail: await door.getByTestId('door-detail').innerText() };
    });
}

async function scanAtDoor(door, code, want) {
  await door.evaluate(() => { document.querySelector('[data-testid="door-result"]').hidden = true; });
  await door.getByTestId('door-code').fill(code);
  await door.getByTestId('door-check').click();
  return doorResult(door, want);
}

async function main() {
  log('gateway', GATEWAY, '· second page through', VISITOR_GATEWAY, '· chromium', CHROMIUM, '· screenshots in', SHOTS);
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  await rm(SHOTS, { recursive: true, force: true });
  await mkdir(SHOTS, { recursive: true });

  const home = await fetch(GATEWAY + '/');
  if (!home.ok || !(home.headers.get('content-type') || '').includes('text/html')) {
    throw new Error(`GET ${GATEWAY}/ answered ${home.status} ${home.headers.get('content-type')}, not the web page; ` +
      'is the gateway running a build that includes gateway/web (restart the stack after pulling)?');
  }
  const event = await createEvent();
  log('event', event.id, JSON.stringify(event.name));

  const page = await launch('buyer');
  const email = `browser-${uniq}@example.com`;
  const password = 'browser-password-1';
  let confirmedSeats, confirmedId, declinedId, heldSeat, heldId, visitor;

  await step('open the page', page, async () => {
    await page.goto(GATEWAY + '/');
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    await page.getByTestId('event-link').first().waitFor();
  });

  await step('sign up', page, async () => {
    await page.getByTestId('login-link').click();
    await page.getByTestId('signup-name').fill('Browser Buyer');
    await page.getByTestId('signup-email').fill(email);
    await page.getByTestId('signup-password').fill(password);
    await page.getByTestId('signup-submit').click();
    await waitFor({ text: 'the page to say who is signed in', observe: observer(page) },
      async () => (await page.getByTestId('whoami').innerText()) === 'Signed in as ' + email);
    const stored = await page.evaluate(() => localStorage.getItem('ticketflow.token'));
    if (!stored || stored.split('.').length !== 3) throw new Error('no JWT in localStorage after sign-up');
  });

  await step('the API error is shown for a taken email, then log in', page, async () => {
    await page.getByTestId('logout').click();
    await page.getByTestId('login-link').click();
    await page.getByTestId('signup-name').fill('Browser Buyer');
    await page.getByTestId('signup-email').fill(email);
    await page.getByTestId('signup-password').fill(password);
    await page.getByTestId('signup-submit').click();
    await page.getByTestId('error').waitFor();
    const shown = await page.getByTestId('error').innerText();
    // The same request from here gets the envelope whose message the page must show.
    const res = await fetch(GATEWAY + '/api/users/register', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'Browser Buyer', email, password }) });
    const { error } = await res.json();
    if (res.status !== 409 || !error?.message || !shown.includes(error.message) || !shown.includes(error.code)) {
      throw new Error(`the error banner shows "${shown}", the API answered ${res.status} ${JSON.stringify(error)}`);
    }
    await page.screenshot({ path: join(SHOTS, String(stepNo).padStart(2, '0') + '-error-banner.png'), fullPage: true });
    await page.getByTestId('login-email').fill(email);
    await page.getByTestId('login-password').fill(password);
    await page.getByTestId('login-submit').click();
    await waitFor({ text: 'login', observe: observer(page) },
      async () => (await page.getByTestId('whoami').innerText()) === 'Signed in as ' + email);
    if (await page.getByTestId('error').isVisible()) throw new Error('the error banner stayed after a good login');
  });

  await step('find and open the event', page, async () => {
    await page.getByTestId('search').fill(event.name);
    await page.getByTestId('search-submit').click();
    await page.getByRole('link', { name: event.name }).click();
    await waitFor({ text: 'the event title', observe: observer(page) },
      async () => (await page.getByTestId('event-title').innerText()) === event.name);
    await waitFor({ text: '8 AVAILABLE seats', observe: observer(page) },
      async () => (await page.locator('[data-testid^="seat-"][data-status="AVAILABLE"]').count()) === 8);
  });

  await step('book two seats with tok_visa and see CONFIRMED', page, async () => {
    confirmedSeats = await availableSeats(page, 2);
    confirmedId = await bookAndWait(page, confirmedSeats, 'tok_visa', 'CONFIRMED');
    for (const id of confirmedSeats) {
      await waitFor({ text: `${id} to turn RESERVED on the buyer's page`, observe: observer(page) },
        async () => (await seatStatus(page, id)) === 'RESERVED');
    }
  });

  visitor = await launch('visitor');
  await step('a second page sees the seats RESERVED', visitor, async () => {
    await visitor.goto(`${VISITOR_GATEWAY}/#/events/${encodeURIComponent(event.id)}`);
    for (const id of confirmedSeats) {
      await waitFor({ text: `${id} RESERVED on the second page`, observe: observer(visitor) },
        async () => (await seatStatus(visitor, id)) === 'RESERVED' && (await seat(visitor, id).isDisabled()));
    }
    if ((await visitor.locator('[data-testid^="seat-"][data-status="AVAILABLE"]').count()) !== 6) {
      throw new Error('the second page does not show the other 6 seats AVAILABLE');
    }
  });

  await step('a change arrives over the stream on the second page', visitor, async () => {
    const snapshots = [];
    visitor.on('request', (r) => {
      if (/\/seats(\/status)?$/.test(new URL(r.url()).pathname)) snapshots.push(r.url());
    });
    const [held] = await availableSeats(page, 1);
    await bookAndWait(page, [held], 'tok_noResponse', 'PENDING');
    await waitFor({ text: `${held} LOCKED on the second page, pushed`, observe: observer(visitor) },
      async () => (await seatStatus(visitor, held)) === 'LOCKED');
    if (snapshots.length) throw new Error('the second page polled the seat map: ' + snapshots.join(', '));
  });

  await step('book one seat with tok_chargeDeclined and see the decline', page, async () => {
    const [one] = await availableSeats(page, 1);
    declinedId = await bookAndWait(page, [one], 'tok_chargeDeclined', 'FAILED');
    const reason = await page.getByTestId('booking-reason').innerText();
    if (!reason.includes('payment declined: card declined')) throw new Error('decline message not shown: ' + reason);
    await waitFor({ text: `${one} AVAILABLE again`, observe: observer(page) },
      async () => (await seatStatus(page, one)) === 'AVAILABLE');
  });

  await step('book one seat with tok_noResponse: PENDING, and LOCKED on the second page', visitor, async () => {
    [heldSeat] = await availableSeats(page, 1);
    heldId = await bookAndWait(page, [heldSeat], 'tok_noResponse', 'PENDING');
    await waitFor({ text: `${heldSeat} LOCKED on the second page`, observe: observer(visitor) },
      async () => (await seatStatus(visitor, heldSeat)) === 'LOCKED' && (await seat(visitor, heldSeat).isDisabled()));
    const label = await seat(visitor, heldSeat).getAttribute('aria-label');
    if (!label.includes('held for a booking')) throw new Error('a LOCKED seat is labelled ' + label);
    await page.screenshot({ path: join(SHOTS, String(stepNo).padStart(2, '0') + '-buyer-pending.png'), fullPage: true });
  });

  await step('my bookings lists all three', page, async () => {
    await page.getByTestId('nav-bookings').click();
    await page.getByTestId('booking-' + confirmedId).waitFor();
    const confirmed = await page.getByTestId('status-' + confirmedId).innerText();
    const declined = await page.getByTestId('booking-' + declinedId).innerText();
    if (confirmed !== 'CONFIRMED' || !declined.includes('FAILED') || !declined.includes('payment declined: card declined')) {
      throw new Error(`my bookings show ${confirmed} and ${declined}`);
    }
    if (await page.getByTestId('cancel-' + declinedId).count()) throw new Error('a FAILED booking offers Cancel');
    if ((await page.getByTestId('status-' + heldId).innerText()) !== 'PENDING') throw new Error('the tok_noResponse booking is not PENDING');
  });

  let tickets, doorPage;
  await step('my tickets shows a QR code per confirmed seat', page, async () => {
    await page.getByTestId('nav-tickets').click();
    for (const id of confirmedSeats) await page.getByTestId('qr-' + id).waitFor();
    const drawn = await page.locator('img[data-testid^="qr-"]').evaluateAll((imgs) => imgs.map((i) => i.complete && i.naturalWidth >= 100));
    if (drawn.length !== 2 || !drawn.every(Boolean)) throw new Error('QR codes drawn: ' + JSON.stringify(drawn));
    const token = await page.evaluate(() => localStorage.getItem('ticketflow.token'));
    tickets = await ticketsOf(confirmedId, token, 2);
    await page.screenshot({ path: join(SHOTS, String(stepNo).padStart(2, '0') + '-my-tickets.png'), fullPage: true });
    await page.getByTestId('nav-bookings').click();
    await page.getByTestId('booking-' + confirmedId).waitFor();
  });

  doorPage = await launch('door');
  const doorEmail = `door-${uniq}@example.com`;
  await step('door staff: a SCANNER account opens the door page', doorPage, async () => {
    const { token } = await api('POST', '/api/users/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    await api('POST', '/api/users/scanners', { name: 'Door ' + uniq, email: doorEmail, password: 'door-password-1' }, token);
    await doorPage.goto(GATEWAY + '/#/login');
    await doorPage.getByTestId('login-email').fill(doorEmail);
    await doorPage.getByTestId('login-password').fill('door-password-1');
    await doorPage.getByTestId('login-submit').click();
    await waitFor({ text: 'the door link for a scanner', observe: observer(doorPage) },
      async () => doorPage.getByTestId('nav-door').isVisible());
    await doorPage.goto(`${GATEWAY}/#/door/${encodeURIComponent(event.id)}`);
    await waitFor({ text: 'the keys and the revocation list fetched', observe: observer(doorPage) },
      async () => /key\(s\) fetched.*revocation list \(0 revoked\)/.test(await doorPage.getByTestId('door-sync-state').innerText()));
  });

  await step('the door admits a ticket in green with its seat and holder', doorPage, async () => {
    const r = await scanAtDoor(doorPage, tickets[0].credential, 'admitted');
    if (!r.headline.includes(tickets[0].seatId) || !r.detail.includes('Browser Buyer')) throw new Error('admitted as ' + JSON.stringify(r));
  });

  await step('the door refuses the same ticket in red the second time', doorPage, async () => {
    const r = await scanAtDoor(doorPage, tickets[0].credential, 'refused');
    if (!r.headline.includes('ALREADY CHECKED IN') || !r.detail.includes('First scan')) throw new Error('refused as ' + JSON.stringify(r));
  });

  await step('the door refuses a code that is no ticket', doorPage, async () => {
    const r = await scanAtDoor(doorPage, confirmedId, 'refused');
    if (!r.headline.includes('CREDENTIAL MALFORMED')) throw new Error('refused as ' + JSON.stringify(r));
  });

  await step('cancel the pending and the confirmed booking', page, async () => {
    for (const id of [heldId, confirmedId]) {
      await page.getByTestId('cancel-' + id).click();
      await waitFor({ text: `booking ${id} CANCELLED`, observe: observer(page) },
        async () => (await page.getByTestId('status-' + id).innerText()) === 'CANCELLED');
    }
  });

  await step('the second page sees the seats AVAILABLE again without a reload', visitor, async () => {
    for (const id of [...confirmedSeats, heldSeat]) {
      await waitFor({ text: `${id} AVAILABLE on the second page`, observe: observer(visitor) },
        async () => (await seatStatus(visitor, id)) === 'AVAILABLE');
    }
  });

  await step('book two places of the Pit with the quantity picker and see CONFIRMED', page, async () => {
    await page.goto(`${GATEWAY}/#/events/${encodeURIComponent(event.id)}`);
    await waitFor({ text: '20 places of the Pit left', observe: observer(page) }, async () => (await placesLeft(page, 'PIT')) === '20');
    await page.getByTestId('more-PIT').click();
    await page.getByTestId('more-PIT').click();
    await waitFor({ text: 'the selection to name two places of the Pit', observe: observer(page) },
      async () => (await page.getByTestId('selection').innerText()).includes('Pit × 2'));
    const id = await submitAndWait(page, 'tok_visa', 'CONFIRMED');
    const detail = await page.getByTestId('booking-detail').innerText();
    if (!detail.includes('Pit × 2') || !detail.includes(id)) throw new Error('the booking shows ' + detail);
    await waitFor({ text: '18 places left on the buyer\'s page', observe: observer(page) }, async () => (await placesLeft(page, 'PIT')) === '18');
    if ((await page.getByTestId('quantity-PIT').inputValue()) !== '0') throw new Error('the picker kept its places after booking');
  });

  await step('the second page counts the places sold, live', visitor, async () => {
    await waitFor({ text: '18 of 20 places left on the second page', observe: observer(visitor) },
      async () => (await placesLeft(visitor, 'PIT')) === '18' &&
        (await visitor.getByTestId('area-left-PIT').innerText()).includes('18 of 20 places left'));
  });

  // The waiting room: buyers who joined first are ahead; the page shows its buyer's place move
  // toward the front (pushed by the place's stream, which it follows at the room server its
  // place names, another origin), then the seat map with the time left to book, and books with
  // the admission.
  await step('an event with a waiting room: the place moves, then the seat map with a countdown', page, async () => {
    const room = await createEvent({ name: 'Browser room ' + uniq, salesStartAt: new Date(Date.now() - 60e3).toISOString(),
      waitingRoom: { enabled: true, admitPerMinute: 20 } });
    for (let i = 0; i < 4; i++) { // ahead of the page's buyer in line
      const { token } = await api('POST', '/api/users/register', { name: 'Ahead', email: `ahead-${i}-${uniq}@example.com`,
        password: 'ahead-password-1' });
      await api('POST', `/api/events/${room.id}/queue`, undefined, token);
    }
    const followed = [];
    const noteStream = (r) => { if (r.url().includes('/queue/stream')) followed.push(r.url()); };
    page.on('request', noteStream);
    await page.goto(`${GATEWAY}/#/events/${encodeURIComponent(room.id)}`);
    await waitFor({ text: 'a place in the line', observe: observer(page) },
      async () => Number(await page.getByTestId('queue-position').getAttribute('data-position')) >= 2);
    if (await page.getByTestId('shop').isVisible()) throw new Error('the seat map is shown before the buyer is let in');
    await page.evaluate(() => {
      window.__positions = [];
      const node = document.querySelector('[data-testid="queue-position"]');
      const note = () => {
        const p = node.dataset.position;
        if (p && window.__positions[window.__positions.length - 1] !== p) window.__positions.push(p);
      };
      note();
      new MutationObserver(note).observe(node, { attributes: true });
    });
    await page.screenshot({ path: join(SHOTS, String(stepNo).padStart(2, '0') + '-waiting-room.png'), fullPage: true });
    await waitFor({ text: 'the seat map with the time left to book', observe: observer(page) },
      async () => (await page.getByTestId('shop').isVisible()) &&
        /you have \d+:\d\d to book/.test(await page.getByTestId('admission-countdown').innerText()), 60_000);
    const positions = (await page.evaluate(() => window.__positions)).map(Number);
    log('  places shown:', positions.join(' → '), '→ let in');
    if (positions.length < 2 || positions.some((p, i) => i > 0 && p >= positions[i - 1])) {
      throw new Error('the place did not move forward step by step: ' + positions.join(', '));
    }
    if (await page.getByTestId('queue').isVisible()) throw new Error('the line is still shown once admitted');
    page.off('request', noteStream);
    if (!followed.length || !followed.every((u) => u.startsWith(ROOM + '/api/events/'))) {
      throw new Error(`the page followed its place at ${followed.join(', ') || 'nothing'}, want the room server ${ROOM}`);
    }
    await waitFor({ text: '8 AVAILABLE seats', observe: observer(page) },
      async () => (await page.locator('[data-testid^="seat-"][data-status="AVAILABLE"]').count()) === 8);
    const [one] = await availableSeats(page, 1);
    await bookAndWait(page, [one], 'tok_visa', 'CONFIRMED');
  });

  await step('offline, the door refuses a revoked ticket, admits a valid one once, and uploads the scan later', doorPage, async () => {
    // A ticket bought by someone else, still valid; then the door refreshes its list (the cancelled
    // booking's tickets are on it) and loses the network.
    const buyer = await api('POST', '/api/users/register', { name: 'Offline Guest', email: `guest-${uniq}@example.com`, password: 'guest-password-1' });
    const map = await api('GET', `/api/inventory/events/${event.id}/seats`);
    const free = map.seats.find((x) => x.status === 'AVAILABLE').id;
    const b = await api('POST', '/api/bookings', { eventId: event.id, seatIds: [free], paymentMethod: { type: 'card', token: 'tok_visa' } }, buyer.token);
    const [valid] = await ticketsOf(b.id, buyer.token, 1);
    await doorPage.getByTestId('door-sync').click();
    await waitFor({ text: 'the list with the cancelled booking\'s 2 tickets', observe: observer(doorPage) },
      async () => (await doorPage.getByTestId('door-sync-state').innerText()).includes('(2 revoked)'));
    await doorPage.context().setOffline(true);
    let r = await scanAtDoor(doorPage, tickets[1].credential, 'refused');
    if (!r.headline.includes('TICKET REVOKED') || !r.detail.includes('offline')) throw new Error('revoked, offline: ' + JSON.stringify(r));
    r = await scanAtDoor(doorPage, valid.credential, 'admitted');
    if (!r.headline.includes(free) || !r.detail.includes('Offline Guest') || !r.detail.includes('offline')) throw new Error('valid, offline: ' + JSON.stringify(r));
    await doorPage.screenshot({ path: join(SHOTS, String(stepNo).padStart(2, '0') + '-door-admitted-offline.png'), fullPage: true });
    r = await scanAtDoor(doorPage, valid.credential, 'refused');
    if (!r.headline.includes('ALREADY CHECKED IN')) throw new Error('again, offline: ' + JSON.stringify(r));
    const [h, p, sig] = valid.credential.split('.');
    const forged = h + '.' + Buffer.from(Buffer.from(p, 'base64url').toString().replace('"seat":"', '"seat":"VIP-')).toString('base64url') + '.' + sig;
    r = await scanAtDoor(doorPage, forged, 'refused');
    if (!r.headline.includes('CREDENTIAL BAD SIGNATURE')) throw new Error('tampered, offline: ' + JSON.stringify(r));
    await doorPage.screenshot({ path: join(SHOTS, String(stepNo).padStart(2, '0') + '-door-refused-offline.png'), fullPage: true });
    // Back online: the queued scan is uploaded, and the server then knows the ticket was used.
    await doorPage.context().setOffline(false);
    // The page uploads by itself when the browser says it is online; the button does it too.
    const upload = doorPage.getByTestId('door-upload');
    if (await upload.isVisible()) await upload.click({ timeout: 2000 }).catch(() => {});
    await waitFor({ text: 'the offline scan uploaded', observe: observer(doorPage) },
      async () => (await doorPage.getByTestId('door-queue').innerText()).includes('1 admitted'));
    r = await scanAtDoor(doorPage, valid.credential, 'refused');
    if (!r.headline.includes('ALREADY CHECKED IN')) throw new Error('online after the upload: ' + JSON.stringify(r));
  });

  // IQD: ISO 4217 gives it 3 decimals where the browser's own (CLDR) data gives 0, so 1500 minor
  // units are 1.500 dinars only when the page uses the server's exponent.
  await step('an event not yet on sale: its window is shown, booking is disabled, money by ISO 4217', page, async () => {
    const opens = new Date(Date.now() + 7 * 86400e3);
    opens.setUTCSeconds(0, 0);
    const later = await createEvent({ name: 'Browser later ' + uniq, currency: 'IQD', salesStartAt: opens.toISOString(),
      sections: [{ name: 'Floor', priceMinor: 1500, rows: [{ label: 'A', seats: 8 }] }] });
    await page.goto(`${GATEWAY}/#/events/${encodeURIComponent(later.id)}`);
    await waitFor({ text: 'the sales window', observe: observer(page) },
      async () => (await page.getByTestId('event-sales').getAttribute('data-sales')) === 'SALES_NOT_STARTED');
    const sales = await page.getByTestId('event-sales').innerText();
    if (!sales.includes('not on sale yet') || !sales.includes('Europe/Oslo')) throw new Error('sales window shown as: ' + sales);
    await seat(page, 'FLOOR-A-1').click();
    if (!(await page.getByTestId('book').isDisabled()) || (await page.getByTestId('book').innerText()) !== 'Not on sale') {
      throw new Error('the book button is enabled before sales open');
    }
    const heading = await page.locator('[data-section="Floor"] h3').innerText();
    if (!heading.includes('1.500')) throw new Error('1500 minor units of IQD shown as: ' + heading);
  });

  const uncaught = consoleLines.filter((l) => l.includes('uncaught'));
  if (uncaught.length) throw new Error('the page threw:\n' + uncaught.join('\n'));
}

const guard = setTimeout(() => { console.error('FAIL: the browser test took longer than 4 minutes'); process.exit(1); }, 240_000);
let failed = false;
try {
  await main();
  log(`PASS: ${stepNo} steps; screenshots in ${SHOTS}`);
} catch (e) {
  failed = true;
  console.error('FAIL:', e.message);
  if (consoleLines.length) console.error('browser console:\n  ' + consoleLines.join('\n  '));
  console.error('screenshots in', SHOTS);
} finally {
  for (const c of cleanups.reverse()) await c();
  clearTimeout(guard);
}
process.exit(failed ? 1 : 0);
