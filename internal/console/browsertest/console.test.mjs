// Drives the console in Debian's headless Chromium through playwright-core,
// against the local stack that browser_test.go starts (BASE_URL). Each step
// prints "ok N - name"; the first failure prints why, saves
// failure.png, and exits 1. Run it through `go test ./internal/console/browsertest`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOT_DIR;
const PLAN_FIELDS = (process.env.PLAN_FIELDS || '').split(',').filter(Boolean); // every field of plans.Plan, from the Go side
const TIMEZONE = 'Asia/Kolkata'; // UTC+05:30: local time visibly differs from UTC
const EMAIL = 'ada@acme.example';
const TENANT = 'acme';

if (!BASE || !SHOTS || PLAN_FIELDS.length === 0) {
  console.error('BASE_URL, SCREENSHOT_DIR and PLAN_FIELDS must be set: run this through `go test ./internal/console/browsertest`.');
  process.exit(2);
}
if (!/^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(BASE)) {
  console.error(`BASE_URL ${BASE} is not on loopback: the browser tests never leave the machine.`);
  process.exit(2);
}

// --- output and failure ------------------------------------------------------
let stepNo = 0;
let page;
const consoleErrors = []; // everything the pages reported as an error
const expectedErrors = []; // resource errors a step caused on purpose

async function step(name, fn) {
  stepNo += 1;
  const started = Date.now();
  try {
    await fn();
  } catch (err) {
    console.log(`not ok ${stepNo} - ${name}`);
    console.log(String(err && err.stack ? err.stack : err));
    if (consoleErrors.length) console.log('browser console errors so far:\n  ' + consoleErrors.join('\n  '));
    if (page) {
      await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
      console.log(`screenshot of the failure: ${path.join(SHOTS, 'failure.png')}`);
    }
    throw new Failed();
  }
  console.log(`ok ${stepNo} - ${name} (${Date.now() - started} ms)`);
}

class Failed extends Error {}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
}

// --- accessibility: axe-core over the page as it is --------------------------
// axe is evaluated through the DevTools protocol, which the page's CSP does
// not govern (addScriptTag would need bypassCSP), so every check runs with
// the console's real Content-Security-Policy and Trusted Types in force.
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

async function assertAxe(state) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n      ${v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`).join('\n      ')}`);
  });
  assert.deepEqual(violations, [], `axe-core found accessibility violations in "${state}"`);
}

// assertFitsWidth checks that nothing on the page is wider than the
// window: the page does not scroll sideways, no box in it does (text
// fields aside, which scroll their own text), and every element shown lies
// within the window's width.
async function assertFitsWidth(state) {
  const problems = await page.evaluate(() => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    const name = (n) => `${n.tagName.toLowerCase()}${n.id ? '#' + n.id : ''}${typeof n.className === 'string' && n.className ? '.' + n.className.split(' ').join('.') : ''}`;
    if (document.documentElement.scrollWidth > vw) out.push(`the page is ${document.documentElement.scrollWidth} px wide`);
    for (const n of document.querySelectorAll('body *')) {
      if (n.matches('input, textarea, select, .visually-hidden, .visually-hidden *')) continue;
      const r = n.getBoundingClientRect();
      if (r.width <= 1 || r.height <= 1) continue; // not shown
      if (r.left < -0.5 || r.right > vw + 0.5) out.push(`${name(n)} spans ${Math.round(r.left)}-${Math.round(r.right)} px`);
      if (n.scrollWidth > n.clientWidth + 1 && ['auto', 'scroll', 'hidden'].includes(getComputedStyle(n).overflowX)) out.push(`${name(n)} scrolls sideways (${n.scrollWidth} px in ${n.clientWidth})`);
    }
    return out.slice(0, 12);
  });
  assert.deepEqual(problems, [], `"${state}" is wider than the window`);
}

// assertStackedTables checks that at a phone's width each table row reads
// as a stack of labelled cells: the header row is not shown, every cell
// sits under the one before, and each cell with text shows its column's
// name (the header's text) before it, but for the row's buttons. Words
// that fit on a line are not broken.
async function assertStackedTables(state) {
  const problems = await page.evaluate(() => {
    const out = [];
    for (const table of document.querySelectorAll('table')) {
      if (table.getClientRects().length === 0 || table.closest('[hidden]')) continue;
      const heads = Array.from(table.tHead.rows[0].cells).map((th) => th.textContent.trim());
      if (table.tHead.getBoundingClientRect().height > 1) out.push(`#${table.id}: its header row is shown`);
      for (const tr of table.tBodies[0].rows) {
        let bottom = -Infinity;
        Array.from(tr.cells).forEach((cell, i) => {
          const r = cell.getBoundingClientRect();
          if (r.height <= 1 || cell.classList.contains('actions')) return; // a row's buttons need no label, and may sit in a corner
          if (r.top < bottom - 0.5) out.push(`#${table.id}: "${heads[i]}" is beside the cell before it, not under it`);
          bottom = r.bottom;
          const label = getComputedStyle(cell, '::before').content;
          if (heads[i] && cell.textContent.trim() && label !== JSON.stringify(heads[i])) out.push(`#${table.id}: the cell "${cell.textContent.trim().slice(0, 30)}" is labelled ${label}, not "${heads[i]}"`);
          // A word that fits on a line must not be broken across two. What
          // fits is the cell's content box (the description's cell keeps
          // room on its right for the row's menu button).
          const style = getComputedStyle(cell);
          const room = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
          const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
          for (let t = walker.nextNode(); t; t = walker.nextNode()) {
            for (const m of t.data.matchAll(/\S+/g)) {
              const range = document.createRange();
              range.setStart(t, m.index);
              range.setEnd(t, m.index + m[0].length);
              const lines = new Set(Array.from(range.getClientRects()).map((b) => Math.round(b.top)));
              const width = Array.from(range.getClientRects()).reduce((w, b) => w + b.width, 0);
              if (lines.size > 1 && width < room - 1) out.push(`#${table.id}: "${m[0]}" is broken across ${lines.size} lines`);
            }
          }
        });
      }
    }
    return out.slice(0, 12);
  });
  assert.deepEqual(problems, [], `the tables of "${state}" do not read as stacked rows`);
}

const DESKTOP = { width: 1280, height: 800 };
const PHONES = [{ width: 390, height: 844 }, { width: 320, height: 640 }];

// phoneShot saves what a phone shows (the window, 390x844), scrolled so
// that what has focus (the field with the error, the run's title) is in it.
async function phoneShot(name) {
  await page.evaluate(() => {
    const f = document.activeElement;
    if (f && f !== document.body && !f.closest('dialog, [popover]')) f.scrollIntoView({ block: 'center' });
  });
  await page.screenshot({ path: path.join(SHOTS, name) });
}

// checkState checks one of the console's main states at the desktop size
// and at phone sizes (a 390 px phone and the narrowest, 320 px): no axe-core
// violation at any, and on phones nothing wider than the window and tables
// as stacked rows. With shotName (the desktop screenshot's), it saves the
// phone's screenshot beside it as NAME-phone.png. It returns to the desktop size.
async function checkState(state, shotName) {
  try {
    for (const size of [DESKTOP, ...PHONES]) {
      await page.setViewportSize(size);
      const at = `${state} at ${size.width} px`;
      await assertAxe(at);
      if (size === DESKTOP) continue;
      await assertFitsWidth(at);
      await assertStackedTables(at);
      if (shotName && size === PHONES[0]) await phoneShot(shotName.replace(/\.png$/, '-phone.png'));
    }
  } finally {
    await page.setViewportSize(DESKTOP);
  }
}

// --- API calls from outside the browser (what a script holding a token does) ---
async function call(method, route, bearer, body) {
  const headers = {};
  if (bearer) headers.Authorization = 'Bearer ' + bearer;
  // The local server requires JSON on every state-changing /local/ route, with or without a body.
  if (body !== undefined || method !== 'GET') headers['Content-Type'] = 'application/json';
  const resp = await fetch(BASE + route, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await resp.text();
  return { status: resp.status, body: text ? JSON.parse(text) : null };
}

async function session(email, tenant) {
  const r = await call('POST', '/local/sessions', '', { email, tenant });
  assert.equal(r.status, 200, 'local sign-in');
  return r.body.token;
}

// "Dec 27, 2026 11:12" in TIMEZONE, as the page must show expiresAt.
function localMinute(iso) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: TIMEZONE, year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    }).formatToParts(new Date(iso)).map((p) => [p.type, p.value]),
  );
  return `${parts.month} ${parts.day}, ${parts.year} ${parts.hour}:${parts.minute}`;
}

// --- page helpers ---------------------------------------------------------------
const planControl = (p) => page.locator(`#plan-form [name="${p}"]`);

// getPath reads "salesforce.consumerKey" or "nonProdUsers[0].email" of obj.
function getPath(obj, p) {
  return p.split(/\.|\[(\d+)\]\.?/).filter(Boolean).reduce((v, k) => (v === undefined || v === null ? undefined : v[k]), obj);
}

// savePlanExpecting clicks Save plan and checks that the API's 400 answer
// is shown word for word next to the field it names: under the control, in
// its description, the control marked invalid and focused. With group, the
// message is about a whole section, shown (and focused) under its legend.
async function savePlanExpecting(sandbox, control, code, group) {
  const answer = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url() === `${BASE}/sandbox-plans/${sandbox}`);
  await page.getByRole('button', { name: 'Save plan' }).click();
  const r = await answer;
  const body = await r.json();
  assert.equal(r.status(), 400, JSON.stringify(body));
  assert.equal(body.error.code, code, body.error.message);
  if (!expectedErrors.some((re) => re.source === 'status of 400')) expectedErrors.push(/status of 400/);
  const line = group ? page.locator(`#plan-form fieldset[data-group="${group}"] .group-error`) : page.locator(`#${await control.getAttribute('id')}-error`);
  await line.filter({ hasText: body.error.message }).waitFor();
  assert.equal((await line.innerText()).trim(), body.error.message, 'the message is the API\'s, word for word');
  if (group) {
    assert.ok(await line.evaluate((n) => n === document.activeElement), 'focus moves to the section\'s message');
    assert.ok((await line.evaluate((n) => n.closest('fieldset').getAttribute('aria-describedby'))).includes(await line.getAttribute('id')), 'the section is described by it');
  } else {
    assert.ok((await control.getAttribute('aria-describedby')).split(' ').includes(await line.getAttribute('id')), 'the field is described by its message');
    assert.equal(await control.getAttribute('aria-invalid'), 'true');
    assert.ok(await control.evaluate((n) => n === document.activeElement), 'focus moves to the field');
    const [c, l] = [await control.boundingBox(), await line.boundingBox()];
    assert.ok(l.y >= c.y + c.height - 1 && l.y - (c.y + c.height) < 60, `the message sits under its field (field ends at ${c.y + c.height}, message at ${l.y})`);
  }
  assert.ok(await page.locator('#plan-error').isHidden(), 'no message for the whole form');
  return body.error.message;
}

const rows = () => page.locator('#tokens-body tr');
const row = (description) => page.locator('#tokens-body tr').filter({ has: page.locator('td.description', { hasText: new RegExp(`^${escapeRe(description)}$`) }) });
const addDialog = () => page.locator('#add-token-dialog');
const deleteDialog = () => page.locator('#delete-token-dialog');

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function rowTexts() {
  return page.locator('#tokens-body tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.cells).slice(0, 3).map((c) => c.textContent)));
}

// Generates a token in the Add Token dialog and returns the create response.
async function generate(description, lifespan) {
  await page.getByRole('button', { name: 'Add Token' }).click();
  await addDialog().waitFor({ state: 'visible' });
  if (description !== undefined) await page.getByLabel('Description', { exact: true }).fill(description);
  if (lifespan !== undefined) await page.getByLabel('Lifespan (days)', { exact: true }).fill(String(lifespan));
  const response = page.waitForResponse((r) => r.url() === BASE + '/api-tokens' && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Generate Token' }).click();
  const r = await response;
  return { status: r.status(), body: await r.json() };
}

// Nothing of the token may be left in the page once its dialog is closed.
// The dialog's close event (where the page forgets the token) is a task
// queued by close(), so the page is given until that task has run: a
// second at most, never a fixed wait.
async function assertTokenGone(token) {
  const gone = await page.waitForFunction((tok) => {
    const inValues = Array.from(document.querySelectorAll('input, textarea')).some((n) => n.value.includes(tok));
    return !(document.documentElement.outerHTML.includes(tok) || document.body.innerText.includes(tok) || inValues);
  }, token, { timeout: 1000 }).then(() => true, () => false);
  assert.equal(gone, true, 'the token is still in the page after its dialog closed');
}

async function assertFocusStaysIn(dialogSelector) {
  for (const key of ['Tab', 'Shift+Tab']) {
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press(key);
      const inside = await page.evaluate((sel) => document.querySelector(sel).contains(document.activeElement), dialogSelector);
      assert.ok(inside, `${key} #${i + 1} moved focus out of ${dialogSelector}`);
    }
  }
}

// assertMenuWhole opens a row's ⋯ menu with a click and checks that the
// whole menu shows above the page without scrolling anything: each item
// lies inside the viewport and is what a click at each of its corners would
// hit. Escape then closes it and gives focus back to the button. It returns
// where the menu opened: "below" the button or "above" it.
async function assertMenuWhole(trigger) {
  const scrolled = () => page.evaluate(() => {
    const boxes = [];
    for (const n of document.body.querySelectorAll('*')) {
      if (n.scrollTop || n.scrollLeft) boxes.push(`${n.tagName.toLowerCase()}${n.id ? '#' + n.id : ''}.${n.className} to (${n.scrollLeft}, ${n.scrollTop})`);
    }
    return { page: [scrollX, scrollY], boxes };
  });
  const before = await scrolled();
  await trigger.click();
  const menu = page.locator('#' + (await trigger.getAttribute('aria-controls')));
  await menu.waitFor();
  // A scroll caused by the opening (focus moving into the menu) happens
  // before the next frames are drawn: wait for two, not for a fixed time.
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  const problems = await menu.evaluate((m) => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    for (const item of m.querySelectorAll('[role=menuitem]')) {
      const r = item.getBoundingClientRect();
      const name = item.textContent;
      if (r.width === 0 || r.left < 0 || r.top < 0 || r.right > vw || r.bottom > vh) {
        out.push(`${name} lies outside the ${vw}x${vh} viewport: (${r.left}, ${r.top})-(${r.right}, ${r.bottom})`);
      }
      for (const [x, y] of [[r.left + 2, r.top + 2], [r.right - 2, r.top + 2], [r.left + 2, r.bottom - 2], [r.right - 2, r.bottom - 2]]) {
        const hit = document.elementFromPoint(x, y);
        if (!hit || !item.contains(hit)) out.push(`${name} is cut off or covered at (${x}, ${y}): ${hit ? hit.outerHTML.slice(0, 80) : 'nothing'} is there`);
      }
    }
    return out;
  });
  const after = await scrolled();
  const placement = await menu.evaluate((m, b) => (m.getBoundingClientRect().bottom <= b.getBoundingClientRect().top ? 'above' : 'below'), await trigger.elementHandle());
  assert.deepEqual(problems, [], 'the open menu is not whole');
  assert.deepEqual(after, before, 'opening the menu scrolled the page or a box in it');
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute('role')), 'menuitem', 'focus moves into the menu');
  await page.keyboard.press('Escape');
  await menu.waitFor({ state: 'hidden' });
  assert.equal(await trigger.getAttribute('aria-expanded'), 'false');
  assert.ok(await trigger.evaluate((b) => b === document.activeElement), 'Escape gives focus back to the ⋯ button');
  return placement;
}

// Every visible control has an accessible name.
async function assertLabelled() {
  const unnamed = await page.evaluate(() => {
    const out = [];
    for (const n of document.querySelectorAll('input, textarea, select, button, a[href]')) {
      if (n.closest('[hidden]') || n.getClientRects().length === 0 || n.type === 'hidden') continue;
      let name = n.getAttribute('aria-label') || '';
      if (!name && n.labels) name = Array.from(n.labels).map((l) => l.textContent).join(' ');
      if (!name && n.getAttribute('aria-labelledby')) name = n.getAttribute('aria-labelledby').split(' ').map((id) => document.getElementById(id)?.textContent || '').join(' ');
      if (!name && !(n instanceof HTMLInputElement) && !(n instanceof HTMLTextAreaElement)) name = n.textContent;
      if (!name.trim()) out.push(n.outerHTML.slice(0, 120));
    }
    return out;
  });
  assert.deepEqual(unnamed, [], 'controls without an accessible name');
}

// Every visible text under root meets WCAG AA contrast against what is
// behind it: 4.5:1, or 3:1 for large text (24px, or 18.66px bold).
async function assertContrast(root) {
  const failures = await page.evaluate((rootSel) => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const over = (top, bottom) => ({
      r: top.r * top.a + bottom.r * (1 - top.a),
      g: top.g * top.a + bottom.g * (1 - top.a),
      b: top.b * top.a + bottom.b * (1 - top.a),
      a: 1,
    });
    // The colour behind el: its own and its ancestors' backgrounds, blended.
    const background = (el) => {
      const layers = [];
      for (let n = el; n && n.nodeType === 1; n = n.parentElement) {
        const c = parse(getComputedStyle(n).backgroundColor);
        if (c && c.a > 0) {
          layers.push(c);
          if (c.a === 1) break;
        }
      }
      let bg = { r: 255, g: 255, b: 255, a: 1 };
      for (const c of layers.reverse()) bg = over(c, bg);
      return bg;
    };
    const out = [];
    const rootEl = document.querySelector(rootSel);
    const walker = document.createTreeWalker(rootEl, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const el = t.parentElement;
      if (!t.textContent.trim() || seen.has(el) || el.getClientRects().length === 0 || el.closest('[hidden], .visually-hidden')) continue;
      seen.add(el);
      const cs = getComputedStyle(el);
      if (cs.visibility === 'hidden' || Number(cs.opacity) === 0) continue;
      const fg = over(parse(cs.color), background(el));
      const bg = background(el);
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const size = parseFloat(cs.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) out.push(`${ratio.toFixed(2)}:1 "${t.textContent.trim().slice(0, 40)}" (${cs.color} on rgb(${bg.r}, ${bg.g}, ${bg.b}))`);
    }
    return out;
  }, root);
  assert.deepEqual(failures, [], `text under ${root} with too little contrast`);
}

// --- the run --------------------------------------------------------------------
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // As DESIGN.md and the machine notes say: without the background-networking
  // flags Chromium keeps dialling out of this closed network.
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ timezoneId: TIMEZONE, locale: 'en-US', viewport: { width: 1280, height: 800 } });
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
const watch = (p) => {
  p.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(`${p === page ? 'page' : 'other tab'}: ${msg.text()} [${msg.location().url}]`);
  });
  p.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
  p.on('requestfailed', (req) => consoleErrors.push(`request failed: ${req.method()} ${req.url()} ${req.failure()?.errorText}`));
};
page = await context.newPage();
watch(page);
page.setDefaultTimeout(10_000);

let first; // {token, id, description} created with a description and lifespan
let generated; // created without a description
let exitCode = 0;
try {
  await step('the console loads with its security headers and shows the local sign-in', async () => {
    const resp = await page.goto(BASE + '/');
    const csp = resp.headers()['content-security-policy'];
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe/);
    await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'signin-email', 'focus starts in the e-mail field');
    await assertLabelled();
    await assertContrast('body');
    await shot('01-sign-in.png');
    await checkState('sign-in', '01-sign-in.png');
  });

  await step('sign in with the keyboard only (e-mail, Tab, tenant, Enter)', async () => {
    await page.keyboard.type(EMAIL);
    await page.keyboard.press('Tab');
    await page.keyboard.type(TENANT);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'API Tokens' }).waitFor();
    await page.locator('#account-name', { hasText: `${EMAIL} · ${TENANT}` }).waitFor();
    await page.locator('#tokens-empty').waitFor();
    assert.match(await page.locator('#tokens-empty').innerText(), /No API tokens yet/);
    // Where the page sits: a breadcrumb, not a lone tab that reads as a second heading.
    const crumbs = page.getByRole('navigation', { name: 'Breadcrumb' });
    assert.deepEqual(await crumbs.getByRole('listitem').allInnerTexts(), ['Accounts', 'API Tokens']);
    assert.equal(await crumbs.locator('[aria-current="page"]').innerText(), 'API Tokens');
    assert.equal(await page.getByRole('navigation', { name: 'Accounts' }).count(), 0, 'no "Accounts" sub-navigation with a single tab');
    const look = await crumbs.evaluate((n) => ({ size: parseFloat(getComputedStyle(n).fontSize), weight: Number(getComputedStyle(n).fontWeight), body: parseFloat(getComputedStyle(document.body).fontSize) }));
    assert.ok(look.size < look.body && look.weight < 600, `the breadcrumb is small, plain text (${JSON.stringify(look)})`);
    await shot('02-api-tokens-empty.png');
    await checkState('no API tokens yet', '02-api-tokens-empty.png');
  });

  await step('the session is kept for the tab only: sessionStorage, never local storage or the URL', async () => {
    const where = await page.evaluate(() => ({ session: sessionStorage.getItem('dcs-access.session'), local: localStorage.length, url: location.href }));
    assert.ok(where.session && where.session.split('.').length === 3, 'a session JWT in sessionStorage');
    assert.equal(where.local, 0, 'nothing in localStorage');
    assert.ok(!where.url.includes(where.session.slice(-20)), 'the session is not in the URL');
    await page.reload();
    await page.getByRole('heading', { name: 'API Tokens' }).waitFor(); // a reload keeps the tab's session
    const other = await context.newPage();
    watch(other);
    await other.goto(BASE + '/');
    await other.getByRole('heading', { name: 'Sign in to DCS' }).waitFor(); // another tab does not have it
    await other.close();
  });

  await step('create a token with a description and a lifespan; copy it from the dialog', async () => {
    const created = await generate('nightly masking', 30);
    assert.equal(created.status, 201);
    first = created.body;
    const dialog = addDialog();
    // The page behind the dialog lists the new token already.
    await row('nightly masking').waitFor({ state: 'attached' });
    assert.ok(await page.locator('#tokens-empty').isHidden(), 'the page behind the dialog still says "No API tokens yet"');
    assert.equal(await dialog.getByLabel('Associated user', { exact: true }).inputValue(), EMAIL);
    assert.equal(await dialog.getByLabel('Associated user', { exact: true }).getAttribute('readonly'), '');
    const shown = await dialog.getByLabel('API token', { exact: true }).inputValue();
    assert.equal(shown, first.token, 'the dialog shows the token the server returned');
    assert.match(await page.locator('#token-warning').innerText(), /cannot be viewed again/);
    assert.ok(await dialog.getByRole('button', { name: 'Delete Token' }).isEnabled(), 'Delete Token is enabled once generated');
    assert.ok(await dialog.getByRole('button', { name: 'Generate Token' }).isDisabled(), 'Generate Token is spent');
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await page.locator('#copy-status', { hasText: 'Copied' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), first.token, 'the clipboard holds the token');
    await assertLabelled();
    await assertContrast('#add-token-dialog');
    await shot('03-token-generated.png');
    await checkState('a token was generated', '03-token-generated.png');
  });

  await step('the token from the dialog calls /whoami: 200', async () => {
    const who = await call('GET', '/whoami', first.token);
    assert.equal(who.status, 200);
    assert.equal(who.body.user, EMAIL);
    assert.equal(who.body.tenant, TENANT);
    assert.equal(who.body.authType, 'api_token');
    assert.equal(who.body.tokenId, first.id);
  });

  await step('the dialog keeps focus inside, with a visible focus ring', async () => {
    await assertFocusStaysIn('#add-token-dialog');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused control shows a focus ring');
  });

  await step('Close: the table shows the token with its local expiry, and the token leaves the page', async () => {
    await addDialog().getByRole('button', { name: 'Close', exact: true }).last().click();
    await addDialog().waitFor({ state: 'hidden' });
    await row('nightly masking').waitFor();
    const expected = `Enabled - Expires on ${localMinute(first.expiresAt)}`;
    assert.deepEqual(await rowTexts(), [['nightly masking', expected, EMAIL]]);
    const days = (Date.parse(first.expiresAt) - Date.now()) / 86_400_000;
    assert.ok(days > 29.9 && days <= 30, `expires in 30 days, got ${days}`);
    await page.waitForFunction(() => document.activeElement.id === 'add-token', null, { timeout: 2000 }); // focus returns to Add Token
    await assertTokenGone(first.token);
    await assertContrast('body');
    await shot('04-api-tokens-list.png');
    await checkState('the tokens list', '04-api-tokens-list.png');
    for (const size of PHONES) {
      await page.setViewportSize(size);
      await assertMenuWhole(page.locator('#tokens-body .menu-trigger').last()); // the row's actions stay reachable on a phone
    }
    await page.setViewportSize(DESKTOP);
  });

  await step('a duplicate description shows the server message in the dialog and adds nothing', async () => {
    const dup = await generate('Nightly Masking', 7);
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'DESCRIPTION_TAKEN');
    expectedErrors.push(/status of 409/);
    const alert = addDialog().getByRole('alert');
    await alert.waitFor();
    assert.equal((await alert.innerText()).trim(), dup.body.error.message);
    assert.equal(await page.getByLabel('Description', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.ok(await page.locator('#token-result').isHidden(), 'no token shown');
    await assertContrast('#add-token-dialog');
    await shot('05-duplicate-description.png');
    await checkState('a duplicate description', '05-duplicate-description.png');
    await page.keyboard.press('Escape');
    await addDialog().waitFor({ state: 'hidden' });
    // Closing the dialog does not reload the list: the rows are already final.
    assert.equal(await rows().count(), 1, 'nothing was added');
  });

  await step('a lifespan that is not a whole number of days is refused before sending', async () => {
    await page.getByRole('button', { name: 'Add Token' }).click();
    let posted = false;
    const onRequest = (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/api-tokens')) posted = true;
    };
    page.on('request', onRequest);
    for (const bad of ['0', '1.5', 'ten', '-3']) {
      await page.getByLabel('Lifespan (days)', { exact: true }).fill(bad);
      await page.getByRole('button', { name: 'Generate Token' }).click();
      await addDialog().getByRole('alert').filter({ hasText: 'whole number' }).waitFor();
    }
    page.off('request', onRequest);
    assert.equal(posted, false, 'an invalid lifespan reached the server');
    await addDialog().getByRole('button', { name: 'Close', exact: true }).last().click();
    await addDialog().waitFor({ state: 'hidden' });
  });

  await step('a token without a description gets a name from its first and last four characters', async () => {
    const created = await generate(undefined, undefined);
    assert.equal(created.status, 201);
    generated = created.body;
    const tok = await addDialog().getByLabel('API token', { exact: true }).inputValue();
    assert.equal(tok, generated.token);
    const name = generated.description;
    const m = /^(.{4})\.\.([A-Za-z0-9]{13})\.\.(.{4})$/.exec(name);
    assert.ok(m, `generated description ${name} has the shape eyJh..XbLOiHLNDTM..hgft`);
    assert.equal(m[1], tok.slice(0, 4), 'its first four characters are the token\'s');
    assert.equal(m[3], tok.slice(-4), 'its last four characters are the token\'s');
    assert.equal(await page.getByLabel('Description', { exact: true }).inputValue(), name, 'the dialog shows the generated name');
    await addDialog().getByRole('button', { name: 'Close' }).first().click(); // the header's X, before copying: asks first
    await page.getByRole('button', { name: 'Close without copying' }).click();
    await addDialog().waitFor({ state: 'hidden' });
    await row(name).waitFor();
    const texts = await rowTexts();
    assert.deepEqual(texts.find((r) => r[0] === name), [name, 'Enabled - Never expires', EMAIL]);
    await assertTokenGone(generated.token);
  });

  await step('Escape right after a token was generated asks first; Escape again goes back to the token', async () => {
    const created = await generate('escape test', 1);
    assert.equal(created.status, 201);
    const dialog = addDialog();
    const confirm = dialog.getByRole('group', { name: /You haven.t copied the token/ });
    await page.keyboard.press('Escape');
    await confirm.waitFor();
    assert.ok(await dialog.isVisible(), 'the dialog is still open');
    assert.equal(await dialog.getByLabel('API token', { exact: true }).inputValue(), created.body.token, 'the token is still there');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Go back to the token', 'focus moves to the safe choice');
    await assertLabelled();
    await assertContrast('#add-token-dialog');
    await shot('12-close-before-copying.png');
    await checkState('closing before the token was copied', '12-close-before-copying.png');
    await page.keyboard.press('Escape'); // Escape in the question goes back
    await confirm.waitFor({ state: 'hidden' });
    assert.ok(await dialog.isVisible(), 'the dialog is still open');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Copy', 'focus is back on Copy');
    await dialog.getByRole('button', { name: 'Close', exact: true }).last().click(); // the Close button, too, asks
    await confirm.waitFor();
    await dialog.getByRole('button', { name: 'Go back to the token' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await page.locator('#copy-status', { hasText: 'Copied' }).waitFor();
    await page.keyboard.press('Escape'); // once copied, Escape closes at once
    await dialog.waitFor({ state: 'hidden' });
    await assertTokenGone(created.body.token);
    await row('escape test').waitFor();
    await row('escape test').getByRole('button', { name: 'Actions for token escape test' }).click();
    await page.getByRole('menuitem', { name: 'Delete Token' }).click();
    await deleteDialog().getByLabel('Type the token description to confirm', { exact: true }).fill('escape test');
    await deleteDialog().getByRole('button', { name: 'Delete Token' }).click();
    await row('escape test').waitFor({ state: 'detached' });
  });

  await step('Delete Token in the Add Token dialog throws the new token away', async () => {
    const created = await generate('thrown away', 1);
    assert.equal(created.status, 201);
    await addDialog().getByRole('button', { name: 'Delete Token' }).click();
    await addDialog().waitFor({ state: 'hidden' });
    await page.locator('#tokens-status', { hasText: 'thrown away' }).waitFor();
    assert.equal(await row('thrown away').count(), 0);
    assert.equal(await rows().count(), 2);
    assert.equal((await call('GET', '/whoami', created.body.token)).status, 401);
    await assertTokenGone(created.body.token);
  });

  await step('the ellipsis menu and the delete dialog work from the keyboard; Escape closes them', async () => {
    const trigger = row(generated.description).getByRole('button', { name: `Actions for token ${generated.description}` });
    await trigger.focus();
    await page.keyboard.press('Enter');
    const item = page.getByRole('menuitem', { name: 'Delete Token' });
    await item.waitFor();
    assert.equal(await trigger.getAttribute('aria-expanded'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('role')), 'menuitem');
    await shot('11-row-menu.png');
    await checkState('a row menu open', '11-row-menu.png');
    await page.keyboard.press('Escape');
    await item.waitFor({ state: 'hidden' });
    assert.equal(await trigger.getAttribute('aria-expanded'), 'false');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter'); // the menu item
    await deleteDialog().waitFor({ state: 'visible' });
    await assertFocusStaysIn('#delete-token-dialog');
    await page.keyboard.press('Escape');
    await deleteDialog().waitFor({ state: 'hidden' });
    await page.waitForFunction((label) => document.activeElement.getAttribute('aria-label') === label, `Actions for token ${generated.description}`, { timeout: 2000 }); // focus returns to the menu button
    assert.equal(await rows().count(), 2, 'Escape deleted nothing');
  });

  await step('the ⋯ menu of every row shows whole, above the page, the last row included', async () => {
    const triggers = page.locator('#tokens-body .menu-trigger');
    const n = await triggers.count();
    assert.ok(n >= 2, `${n} rows`);
    for (let i = 0; i < n; i++) assert.equal(await assertMenuWhole(triggers.nth(i)), 'below', `row ${i + 1}: room below, so the menu opens there`);
  });

  await step('the menu works with arrow keys: ArrowDown opens it on the first item, Home and End stay in it', async () => {
    const trigger = page.locator('#tokens-body .menu-trigger').last();
    await trigger.focus();
    await page.keyboard.press('ArrowDown');
    const item = page.getByRole('menuitem', { name: 'Delete Token' });
    await item.waitFor();
    for (const key of ['ArrowDown', 'ArrowUp', 'End', 'Home']) {
      await page.keyboard.press(key);
      assert.ok(await item.evaluate((n) => n === document.activeElement), `${key} keeps focus on the menu's items`);
    }
    await page.keyboard.press('Escape');
    await item.waitFor({ state: 'hidden' });
    assert.ok(await trigger.evaluate((b) => b === document.activeElement), 'focus is back on the ⋯ button');
  });

  await step('delete through the ellipsis menu: Delete Token stays disabled until the description is typed exactly', async () => {
    await row('nightly masking').getByRole('button', { name: 'Actions for token nightly masking' }).click();
    await page.getByRole('menuitem', { name: 'Delete Token' }).click();
    const dialog = deleteDialog();
    await dialog.waitFor({ state: 'visible' });
    const button = dialog.getByRole('button', { name: 'Delete Token' });
    const input = dialog.getByLabel('Type the token description to confirm', { exact: true });
    assert.ok(await button.isDisabled(), 'disabled before typing');
    for (const wrong of ['nightly', 'Nightly masking', 'nightly masking ', 'nightly maskin']) {
      await input.fill(wrong);
      assert.ok(await button.isDisabled(), `disabled for "${wrong}"`);
    }
    await input.fill('');
    await input.pressSequentially('nightly masking');
    assert.ok(await button.isEnabled(), 'enabled once it matches');
    await shot('06-delete-confirmation.png');
    await checkState('the delete confirmation', '06-delete-confirmation.png');
    await button.click();
    await dialog.waitFor({ state: 'hidden' });
    await page.locator('#tokens-status', { hasText: 'nightly masking' }).waitFor();
    await row('nightly masking').waitFor({ state: 'detached' });
    assert.deepEqual((await rowTexts()).map((r) => r[0]), [generated.description]);
  });

  await step('the deleted token is revoked: /whoami gives 401', async () => {
    const who = await call('GET', '/whoami', first.token);
    assert.equal(who.status, 401);
    assert.equal(who.body.error.code, 'UNAUTHORIZED');
    assert.equal((await call('GET', '/whoami', generated.token)).status, 200, 'the other token still works');
  });

  await step('Sandbox refreshes: make the demo plan and start a run; the timeline reaches SUCCEEDED', async () => {
    await page.getByRole('link', { name: 'Sandbox refreshes' }).click();
    await page.getByRole('heading', { name: 'Sandbox refreshes', level: 1 }).waitFor();
    await page.locator('#plans-empty').waitFor();
    await page.getByRole('button', { name: 'Create the local demo plan (uat1)' }).click(); // POST /local/sandbox-demo, PUT /sandbox-plans/uat1
    await page.locator('#plans-body tr[data-sandbox="uat1"]').waitFor();
    assert.equal(
      await page.locator('#plans-body tr[data-sandbox="uat1"] td').first().textContent(),
      'Partial Copy · the pipeline activates · runs PrepareSandbox after the copy',
      'the plan says how it copies the sandbox',
    );
    await page.getByRole('button', { name: 'Start run of uat1' }).click();
    await page.locator('#run-detail').waitFor();
    await page.locator('#run-status', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 60_000 });
    const steps = await page.locator('#timeline li').evaluateAll((lis) =>
      lis.map((li) => ({
        step: li.dataset.step,
        facts: Object.fromEntries(Array.from(li.querySelectorAll('dt')).map((dt) => [dt.textContent, dt.nextElementSibling.textContent])),
      })),
    );
    assert.deepEqual(steps.map((s) => s.step), ['refreshSandbox', 'dropUsers', 'masking', 'recreateUsers']);
    for (const s of steps) {
      assert.equal(s.facts.Outcome, 'SUCCEEDED', `${s.step} outcome`);
      assert.match(s.facts.Start, /^[A-Z][a-z]{2} \d\d, \d{4} \d\d:\d\d:\d\d$/, `${s.step} start`);
      assert.match(s.facts.End, /^[A-Z][a-z]{2} \d\d, \d{4} \d\d:\d\d:\d\d$/, `${s.step} end`);
      assert.equal(s.facts.Attempt, undefined, 'one attempt: no attempt numbers');
    }
    // Each step says what it did in a sentence; its structured detail is folded away.
    const summaries = await page.locator('#timeline li .step-summary').allTextContents();
    const sentences = [
      /^Copy completed \(100 %\), activated by the pipeline$/,
      /^[\d,]+ users frozen and deactivated, [\d,]+ kept$/,
      /^Masking succeeded \(DCS execution \S+\)$/,
      /^[\d,]+ non-production users created, [\d,]+ reactivated$/,
    ];
    assert.equal(summaries.length, sentences.length, `one summary a step: ${summaries}`);
    summaries.forEach((text, i) => assert.match(text, sentences[i]));
    const folded = page.locator('#timeline li[data-step="dropUsers"] details.step-detail');
    assert.equal(await folded.evaluate((d) => d.open), false, 'the detail starts folded');
    assert.ok(await folded.locator('pre').isHidden(), 'folded detail is not shown');
    await folded.locator('summary').click();
    assert.match(await folded.locator('pre').textContent(), /"frozen": \d+/, 'the detail unfolds to the step result');
    // The exposure clock: both figures, with the times behind them.
    const exposure = await page.locator('#run-exposure').evaluate((dl) => Object.fromEntries(Array.from(dl.querySelectorAll('dt')).map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
    assert.match(exposure['Open to users'], /^\d+ s \(users frozen [A-Z][a-z]{2} \d\d, \d{4} \d\d:\d\d:\d\d\)$/, 'open to users');
    assert.match(exposure.Unmasked, /^(\d+ s|\d+ min( \d+ s)?) \(masked [A-Z]/, 'unmasked');
    assert.ok(exposure.Activated && exposure['Users back'], `activation and the users' return are shown: ${JSON.stringify(exposure)}`);
    await page.locator('#runs-body tr .badge', { hasText: 'SUCCEEDED' }).first().waitFor();
    const listed = await page.locator('#runs-body tr').first().locator('td').last().textContent();
    assert.match(listed, /^open \d+ s · unmasked \d+ (s|min)/, 'the list shows the run\'s exposure');
    assert.ok(await page.locator('#redrive').isHidden(), 'no Redrive for a run that succeeded');
    // The status line follows the run: it no longer says "started".
    await page.locator('#refreshes-status', { hasText: /^Run \S+ of uat1 succeeded\.$/ }).waitFor();
    await assertLabelled();
    await assertContrast('body');
    await shot('07-sandbox-refresh-succeeded.png');
    await checkState('a refresh that succeeded', '07-sandbox-refresh-succeeded.png');
  });

  await step('a run that fails (its DCS token was deleted) offers Redrive, which resumes it to SUCCEEDED', async () => {
    // Revoke the pipeline's DCS token in the API Tokens page.
    await page.getByRole('link', { name: 'Accounts' }).click();
    const demo = page.locator('#tokens-body td.description', { hasText: /^local sandbox refresh / });
    await demo.first().waitFor();
    assert.equal(await page.locator('#tokens-status').textContent(), '', 'the status line of an earlier visit is gone');
    const name = (await demo.first().innerText()).trim();
    await row(name).getByRole('button', { name: `Actions for token ${name}` }).click();
    await page.getByRole('menuitem', { name: 'Delete Token' }).click();
    await deleteDialog().getByLabel('Type the token description to confirm', { exact: true }).fill(name);
    await deleteDialog().getByRole('button', { name: 'Delete Token' }).click();
    await row(name).waitFor({ state: 'detached' });

    await page.getByRole('link', { name: 'Sandbox refreshes' }).click();
    await page.getByRole('button', { name: 'Start run of uat1' }).click();
    await page.locator('#run-status', { hasText: 'FAILED' }).waitFor({ timeout: 60_000 });
    await page.locator('#timeline li[data-step="masking"] .badge', { hasText: 'FAILED' }).waitFor();
    // Why, in words a person acts on, with the code to search for.
    assert.match(await page.locator('#run-error').textContent(), /^Mask data \(DCS compliance job\) failed: .*401.* \(PERMANENT_ERROR\)$/);
    assert.match(await page.locator('#timeline li[data-step="masking"] dd').filter({ hasText: 'PERMANENT_ERROR' }).textContent(), /401/);
    const redrive = page.getByRole('button', { name: /^Redrive run / });
    await redrive.waitFor();
    await page.locator('#refreshes-status', { hasText: /^Run \S+ of uat1 failed\./ }).waitFor();
    await assertContrast('body');
    await shot('08-sandbox-refresh-failed.png');
    await checkState('a failed run', '08-sandbox-refresh-failed.png');

    // The fix, as an operator does it: a new token in the plan's secret.
    const fix = await call('POST', '/local/sandbox-demo', await session(EMAIL, TENANT));
    assert.equal(fix.status, 200);
    await redrive.click();
    await page.locator('#run-status', { hasText: 'SUCCEEDED' }).waitFor({ timeout: 60_000 });
    const outcomes = await page.locator('#timeline li').evaluateAll((lis) => lis.map((li) => `${li.dataset.step}#${li.dataset.attempt}=${li.querySelector('.badge').textContent}`));
    assert.deepEqual(outcomes, ['refreshSandbox#1=SUCCEEDED', 'dropUsers#1=SUCCEEDED', 'masking#1=FAILED', 'masking#2=SUCCEEDED', 'recreateUsers#2=SUCCEEDED'], 'both attempts in the timeline');
    const attempts = await page.locator('#attempts li').allTextContents();
    assert.equal(attempts.length, 2, `two attempts: ${attempts}`);
    assert.match(attempts[0], /^Attempt 1 \(started .*\) FAILED Mask data \(DCS compliance job\) failed: .*\(PERMANENT_ERROR\)$/);
    assert.match(attempts[1], /^Attempt 2 \(redriven .*\) SUCCEEDED$/);
    await page.locator('#refreshes-status', { hasText: /^Run \S+ of uat1 succeeded\.$/ }).waitFor(); // not "redriven" any more
    assert.ok(await page.locator('#redrive').isHidden());
    assert.equal(await page.locator('#runs-body tr').count(), 2, 'two runs listed');
  });

  let uat1; // the plan as the API has it
  await step('Edit on a plan\'s row opens a form with every field of the plan, filled from GET /sandbox-plans/uat1', async () => {
    await page.getByRole('link', { name: 'Edit plan uat1' }).click();
    await page.getByRole('heading', { name: 'Edit plan uat1', level: 1 }).waitFor();
    await page.locator('#plan-form').waitFor();
    assert.deepEqual(await page.getByRole('navigation', { name: 'Breadcrumb' }).getByRole('listitem').allInnerTexts(), ['Sandbox refreshes', 'Edit plan uat1']);
    uat1 = (await call('GET', '/sandbox-plans/uat1', await session(EMAIL, TENANT))).body;
    assert.equal(uat1.nonProdUsers.length, 1, 'the demo plan has a user, so each of a user\'s fields is in the form');
    const shown = await page.evaluate(() => Object.fromEntries(Array.from(document.querySelectorAll('#plan-form [name]')).map((c) => [c.name, c.type === 'checkbox' ? c.checked : c.value])));
    for (const p of PLAN_FIELDS) {
      assert.ok(p in shown, `the form has no field for ${p}`);
      const v = getPath(uat1, p);
      const want = typeof shown[p] === 'boolean' ? Boolean(v) : Array.isArray(v) ? v.join('\n') : String(v ?? (p === 'historyDays' ? 0 : ''));
      assert.equal(shown[p], want, `${p} shows the plan's value`);
    }
    assert.equal(await planControl('sandbox').getAttribute('readonly'), '', 'an edited plan keeps its sandbox');
    await assertLabelled();
  });

  await step('Save plan shows the API\'s INVALID_PLAN message next to the field it names, Salesforce\'s check included', async () => {
    const cases = [
      { path: 'salesforce.consumerKey', value: 'bad key', code: 'INVALID_PLAN', named: 'salesforce.consumerKey must' },
      { path: 'nonProdUsers[0].email', value: 'not-an-email', code: 'INVALID_PLAN', named: 'nonProdUsers[0].email must' },
      { path: 'keepUsers', value: 'admin@acme.example\nnot a user', code: 'INVALID_PLAN', named: 'keepUsers[1] must' },
      { path: 'timeoutHours', value: 'ten', code: 'INVALID_BODY', named: 'Field "timeoutHours" has the wrong type' },
      // Saving signs in to (simulated) production and looks the names up.
      { path: 'apexClassName', value: 'NoSuchClass', code: 'INVALID_PLAN', named: 'the plan\'s apexClassName names the Apex class "NoSuchClass"' },
      { path: 'salesforce.consumerKey', value: 'unknown-key', code: 'INVALID_PLAN', named: 'salesforce: production refused', group: 'salesforce' },
    ];
    for (const c of cases) {
      const control = planControl(c.path);
      const before = await control.inputValue();
      await control.fill(c.value);
      const message = await savePlanExpecting('uat1', control, c.code, c.group);
      assert.ok(message.startsWith(c.named), `"${message}" names ${c.path}`);
      if (c.path === 'nonProdUsers[0].email') {
        await assertContrast('#plan-form');
        await shot('10-plan-form-errors.png');
        await checkState('the plan form with an error', '10-plan-form-errors.png');
      }
      await control.fill(before);
    }
    const saved = (await call('GET', '/sandbox-plans/uat1', await session(EMAIL, TENANT))).body;
    assert.deepEqual(saved, uat1, 'nothing was saved');
  });

  await step('Save plan: users added and removed, the description changed; back on the list, the API has it', async () => {
    await planControl('description').fill('UAT, edited in the console');
    await page.getByRole('button', { name: 'Add a user' }).click();
    assert.ok(await planControl('nonProdUsers[1].username').evaluate((n) => n === document.activeElement), 'focus moves to the new user');
    const grace = { username: 'grace@acme.example.uat1', email: 'grace@acme.example', firstName: 'Grace', lastName: 'Hopper', alias: 'ghopper', profileName: 'Standard User', timeZone: 'Europe/London' };
    for (const [k, v] of Object.entries(grace)) await planControl(`nonProdUsers[1].${k}`).fill(v);
    assert.equal(await planControl('nonProdUsers[1].emailEncoding').inputValue(), 'UTF-8', 'a new user starts with common keys');
    await page.getByRole('button', { name: 'Add a user' }).click();
    await page.getByRole('button', { name: 'Remove user 3' }).click();
    assert.equal(await planControl('nonProdUsers[2].username').count(), 0, 'user 3 is gone');
    const answer = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url() === `${BASE}/sandbox-plans/uat1`);
    await page.getByRole('button', { name: 'Save plan' }).click();
    assert.equal((await answer).status(), 200);
    await page.getByRole('heading', { name: 'Sandbox refreshes', level: 1 }).waitFor();
    await page.locator('#refreshes-status', { hasText: /^Plan uat1 saved\.$/ }).waitFor();
    const saved = (await call('GET', '/sandbox-plans/uat1', await session(EMAIL, TENANT))).body;
    assert.equal(saved.description, 'UAT, edited in the console');
    assert.deepEqual(saved.nonProdUsers, [uat1.nonProdUsers[0], { ...grace, locale: 'en_US', emailEncoding: 'UTF-8', language: 'en_US' }]);
    assert.equal(saved.updatedBy, EMAIL);
    assert.deepEqual({ ...saved, description: uat1.description, nonProdUsers: uat1.nonProdUsers, updatedAt: uat1.updatedAt }, uat1, 'the rest is as it was');
  });

  await step('New plan: Salesforce\'s check refuses a sandbox production does not have; a good plan is created with the defaults its hints state', async () => {
    await page.getByRole('link', { name: 'New plan' }).click();
    await page.getByRole('heading', { name: 'New refresh plan', level: 1 }).waitFor();
    assert.equal(await planControl('sandbox').getAttribute('readonly'), null);
    await page.getByRole('button', { name: 'Save plan' }).click(); // the name is the plan's address: asked for before anything is sent
    await page.locator('#plan-sandbox-error', { hasText: /^sandbox: enter the sandbox's name\.$/ }).waitFor();
    assert.equal(await planControl('sandbox').getAttribute('aria-invalid'), 'true');
    assert.ok(await planControl('sandbox').evaluate((n) => n === document.activeElement), 'focus moves to the name');
    const fields = {
      sandbox: 'uat9', licenseType: 'FULL', historyDays: '30',
      'salesforce.loginUrl': uat1.salesforce.loginUrl, 'salesforce.consumerKey': uat1.salesforce.consumerKey, 'salesforce.username': uat1.salesforce.username,
      'salesforce.privateKeySecretArn': uat1.salesforce.privateKeySecretArn,
      'dcs.baseUrl': uat1.dcs.baseUrl, 'dcs.complianceJobId': uat1.dcs.complianceJobId, 'dcs.apiTokenSecretArn': uat1.dcs.apiTokenSecretArn, 'dcs.connectorUsername': uat1.dcs.connectorUsername,
    };
    for (const [p, v] of Object.entries(fields)) {
      const c = planControl(p);
      if ((await c.evaluate((n) => n.tagName)) === 'SELECT') await c.selectOption(v);
      else await c.fill(v);
    }
    await planControl('copyChatter').check();
    const message = await savePlanExpecting('uat9', planControl('sandbox'), 'INVALID_PLAN');
    assert.equal(message, 'sandbox: production has no sandbox named uat9.');
    // What the hints promise for the fields left blank ("Blank: 300.").
    const promised = await page.evaluate(() => {
      const out = {};
      for (const c of document.querySelectorAll('#plan-form [name]')) {
        const hint = document.getElementById(c.id + '-hint');
        const m = hint && /Blank: (\S+)\.$/.exec(hint.textContent);
        if (m && c.value === '') out[c.name] = m[1];
      }
      return out;
    });
    assert.deepEqual(Object.keys(promised).sort(), ['pollIntervals.maskingSeconds', 'pollIntervals.maxMaskingSeconds', 'pollIntervals.maxRefreshSeconds', 'pollIntervals.refreshSeconds', 'salesforce.apiVersion', 'salesforce.sandboxLoginUrl', 'timeoutHours']);
    await planControl('sandbox').fill('uat2');
    const answer = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url() === `${BASE}/sandbox-plans/uat2`);
    await page.getByRole('button', { name: 'Save plan' }).click();
    assert.equal((await answer).status(), 201);
    await page.locator('#refreshes-status', { hasText: /^Plan uat2 created\.$/ }).waitFor();
    await page.locator('#plans-body tr[data-sandbox="uat2"]').waitFor();
    assert.equal(await page.locator('#plans-body tr[data-sandbox="uat2"] td').first().textContent(), 'Full · the pipeline activates · 30 days of field history · Chatter');
    const created = (await call('GET', '/sandbox-plans/uat2', await session(EMAIL, TENANT))).body;
    for (const [p, v] of Object.entries(promised)) assert.equal(String(getPath(created, p)), v, `${p} left blank is ${v}, as its hint says`);
    // A new plan never replaces one: uat1 has a plan already.
    await page.getByRole('link', { name: 'New plan' }).click();
    await planControl('sandbox').fill('uat1');
    await page.getByRole('button', { name: 'Save plan' }).click();
    await page.locator('#plan-sandbox-error', { hasText: 'uat1 has a plan already' }).waitFor();
    assert.equal((await call('GET', '/sandbox-plans/uat1', await session(EMAIL, TENANT))).body.description, 'UAT, edited in the console', 'uat1 is untouched');
    await page.getByRole('link', { name: 'Cancel' }).click();
    await page.getByRole('heading', { name: 'Sandbox refreshes', level: 1 }).waitFor();
  });

  await step('sign out; another tenant with 21 tokens pages through them; the last row\'s menu shows whole', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
    assert.match(await page.locator('#signin-message').innerText(), /signed out/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('dcs-access.session')), null);
    const bob = await session('bob@globex.example', 'globex');
    for (let i = 1; i <= 21; i++) {
      const r = await call('POST', '/api-tokens', bob, { description: `globex job ${String(i).padStart(2, '0')}` });
      assert.equal(r.status, 201);
    }
    await page.getByLabel('E-mail', { exact: true }).fill('bob@globex.example');
    await page.getByLabel('Tenant', { exact: true }).fill('globex');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Sandbox refreshes', level: 1 }).waitFor(); // the tab's page, with nothing of ada's
    await page.locator('#plans-empty').waitFor();
    assert.ok(await page.locator('#run-detail').isHidden(), 'the previous user\'s run is not shown');
    assert.equal(await page.locator('#runs-body tr').count(), 0);
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.locator('#tokens-body tr').nth(19).waitFor();
    assert.equal(await rows().count(), 20);
    const next = page.getByRole('button', { name: 'Next page' });
    assert.ok(await page.getByRole('button', { name: 'Previous page' }).isDisabled());
    await next.click();
    await page.locator('#tokens-page-label', { hasText: 'Page 2' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr').length === 1);
    assert.ok(await next.isDisabled());
    assert.equal((await rowTexts())[0][0], 'globex job 01', 'newest first: the oldest is last');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr').length === 20);
    // The last row at the bottom of the window: its menu has no room below.
    const last = page.locator('#tokens-body .menu-trigger').last();
    await last.evaluate((b) => b.scrollIntoView({ block: 'end' }));
    assert.equal(await assertMenuWhole(last), 'above', 'with no room below, the menu opens upwards');
    assert.equal((await rowTexts()).some((r) => r[0] === 'nightly masking' || r[0].startsWith('local sandbox')), false, 'another tenant\'s tokens are not shown');
  });

  await step('no console errors but the ones the steps caused on purpose', async () => {
    const unexpected = consoleErrors.filter((e) => !expectedErrors.some((re) => re.test(e)));
    assert.deepEqual(unexpected, [], 'unexpected browser console errors');
    console.log(`# browser console errors: ${consoleErrors.length}, all expected (${consoleErrors.join(' | ') || 'none'})`);
  });
  console.log('all steps passed');
} catch (err) {
  exitCode = 1;
  if (!(err instanceof Failed)) console.log(String(err && err.stack ? err.stack : err));
} finally {
  await browser.close().catch(() => {});
}
process.exit(exitCode);
