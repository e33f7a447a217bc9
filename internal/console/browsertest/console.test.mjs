// Drives the console in Debian's headless Chromium through playwright-core,
// against the local stack that browser_test.go starts (BASE_URL). Each step
// prints "ok N - name"; the first failure prints why, saves
// failure.png, and exits 1. Run it through `go test ./internal/console/browsertest`.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOT_DIR;
const PLAN_FIELDS = (process.env.PLAN_FIELDS || '').split(',').filter(Boolean); // every field of plans.Plan, from the Go side
// An integration user's key, and the consumer key under which the simulated
// production org trusts it (browser_test.go): a plan signs in with it.
const KEY_FILE = process.env.SALESFORCE_KEY_FILE;
const KEY_CONSUMER = process.env.SALESFORCE_KEY_CONSUMER;
const AUDIT_ACTIONS = (process.env.AUDIT_ACTIONS || '').split(',').filter(Boolean); // internal/audit's Actions, from the Go side
const TIMEZONE = 'Asia/Kolkata'; // UTC+05:30: local time visibly differs from UTC
const EMAIL = 'ada@acme.example';
const TENANT = 'acme';

if (!BASE || !SHOTS || PLAN_FIELDS.length === 0 || !KEY_FILE || !KEY_CONSUMER || AUDIT_ACTIONS.length === 0) {
  console.error('BASE_URL, SCREENSHOT_DIR, PLAN_FIELDS, SALESFORCE_KEY_FILE, SALESFORCE_KEY_CONSUMER and AUDIT_ACTIONS must be set: run this through `go test ./internal/console/browsertest`.');
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
// that what has focus (the field with the error, the run's title) is in it;
// in a dialog, the dialog scrolls as little as shows it.
async function phoneShot(name) {
  await page.evaluate(() => {
    const f = document.activeElement;
    if (!f || f === document.body || f.closest('[popover]')) return;
    f.scrollIntoView({ block: f.closest('dialog') ? 'nearest' : 'center' });
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

// session signs in locally; admin: a tenant administrator's session.
async function session(email, tenant, admin = false) {
  const r = await call('POST', '/local/sessions', '', admin ? { email, tenant, admin } : { email, tenant });
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
const rowOf = (id) => page.locator(`#tokens-body tr[data-token-id="${id}"]`); // a rotated token and its replacement share a description
const addDialog = () => page.locator('#add-token-dialog');
const rotateDialog = () => page.locator('#rotate-token-dialog');
const deleteDialog = () => page.locator('#delete-token-dialog');

// cellsOf is a token's row as {column header: the cell's text}.
async function cellsOf(id) {
  return rowOf(id).evaluate((tr) => {
    const heads = Array.from(tr.closest('table').tHead.rows[0].cells).map((th) => th.textContent.trim());
    return Object.fromEntries(Array.from(tr.cells).map((c, i) => [heads[i], c.textContent]).filter(([h]) => h !== 'Actions'));
  });
}

// auditRows is the audit table's rows: each event's id, its time as the
// page says it and as its datetime, and each cell's text by column.
async function auditRows() {
  return page.locator('#audit-body tr').evaluateAll((trs) => {
    const heads = Array.from(document.querySelector('#audit-table').tHead.rows[0].cells, (th) => th.textContent.trim());
    return trs.map((tr) => ({
      id: tr.dataset.eventId,
      datetime: tr.querySelector('time').getAttribute('datetime'),
      ...Object.fromEntries(Array.from(tr.cells, (c, i) => [heads[i], c.textContent])),
    }));
  });
}

// "Nov 27, 2026 11:15:05": an ISO time as the audit page says it, in UTC.
function utcSecond(iso) {
  const d = new Date(iso);
  return `${d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' })} ${String(d.getUTCDate()).padStart(2, '0')}, ${d.getUTCFullYear()} ${d.toISOString().slice(11, 19)}`;
}

// factsOf is a <dl> as {term: its definition's text}.
async function factsOf(selector) {
  return page.locator(selector).evaluate((dl) => Object.fromEntries(Array.from(dl.querySelectorAll('dt'), (dt) => [dt.textContent, dt.nextElementSibling.textContent])));
}

// scopesShown is what a token's Scopes cell lists: "All scopes", or each scope.
async function scopesShown(id) {
  return rowOf(id).evaluate((tr) => {
    const items = tr.querySelectorAll('.scope-list li');
    return items.length ? Array.from(items, (li) => li.textContent) : tr.cells[3].textContent;
  });
}

// sessionScopes is every scope there is: what a signed-in session has.
async function sessionScopes() {
  const who = await call('GET', '/whoami', await session(EMAIL, TENANT));
  assert.equal(who.status, 200);
  assert.ok(who.body.scopes.length >= 8, `a session has every scope: ${who.body.scopes}`);
  return who.body.scopes;
}

function expectError(status) {
  const re = new RegExp(`status of ${status}`);
  if (!expectedErrors.some((e) => e.source === re.source)) expectedErrors.push(re);
}

// rotateInConsole opens a token's Rotate Token dialog from its row's menu,
// chooses what happens to the old token, and rotates: it returns what was
// sent and what the API answered.
async function rotateInConsole(id, choice) {
  await rowOf(id).getByRole('button', { name: /^Actions for token / }).click();
  await page.getByRole('menuitem', { name: 'Rotate Token' }).click();
  await rotateDialog().waitFor({ state: 'visible' });
  await rotateDialog().getByRole('radio', { name: choice, exact: true }).check();
  const answer = page.waitForResponse((r) => r.url() === `${BASE}/api-tokens/${id}/rotate` && r.request().method() === 'POST');
  await rotateDialog().getByRole('button', { name: 'Rotate Token' }).click();
  const r = await answer;
  return { status: r.status(), sent: r.request().postDataJSON(), key: r.request().headers()['idempotency-key'], body: await r.json() };
}

// copyAndClose copies the token a dialog shows and closes the dialog.
async function copyAndClose(dialog, token) {
  await dialog.getByRole('button', { name: 'Copy' }).click();
  await dialog.getByRole('status').filter({ hasText: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), token, 'the clipboard holds the token');
  await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();
  await dialog.waitFor({ state: 'hidden' });
  await assertTokenGone(token);
}

// worksFor is how many minutes after now a replaced token's worksUntil is.
const worksFor = (previous) => (Date.parse(previous.worksUntil) - Date.now()) / 60_000;

function escapeRe(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function rowTexts() {
  return page.locator('#tokens-body tr').evaluateAll((trs) => trs.map((tr) => Array.from(tr.cells).slice(0, 3).map((c) => c.textContent)));
}

// Generates a token in the Add Token dialog and returns the create
// response, and what was sent.
async function generate(description, lifespan) {
  await page.getByRole('button', { name: 'Add Token' }).click();
  await addDialog().waitFor({ state: 'visible' });
  if (description !== undefined) await page.getByLabel('Description', { exact: true }).fill(description);
  if (lifespan !== undefined) await page.getByLabel('Lifespan (days)', { exact: true }).fill(String(lifespan));
  const response = page.waitForResponse((r) => r.url() === BASE + '/api-tokens' && r.request().method() === 'POST');
  await page.getByRole('button', { name: 'Generate Token' }).click();
  const r = await response;
  return { status: r.status(), body: await r.json(), sent: r.request().postDataJSON() };
}

// Nothing of the token may be left in the page once its dialog is closed.
// The dialog's close event (where the page forgets the token) is a task
// queued by close(), so the page is given until that task has run: a
// second at most, never a fixed wait. Then it says where the token is left.
async function assertTokenGone(token) {
  await page.waitForFunction((tok) => {
    const inValues = Array.from(document.querySelectorAll('input, textarea')).some((n) => n.value.includes(tok));
    return !(document.documentElement.outerHTML.includes(tok) || document.body.innerText.includes(tok) || inValues);
  }, token, { timeout: 1000 }).catch(() => {});
  const left = await page.evaluate((tok) => {
    const where = Array.from(document.querySelectorAll('input, textarea')).filter((n) => n.value.includes(tok)).map((n) => `the value of #${n.id}`);
    if (document.documentElement.outerHTML.includes(tok)) where.push('the HTML');
    if (document.body.innerText.includes(tok)) where.push('the text');
    return where;
  }, token);
  assert.deepEqual(left, [], 'the token is still in the page after its dialog closed');
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
  await trigger.scrollIntoViewIfNeeded(); // the click's own scroll to reach the button is not the opening's
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
    // Accounts has two pages, so a sub-navigation between them (never a lone tab).
    const accounts = page.getByRole('navigation', { name: 'Accounts' });
    assert.deepEqual(await accounts.getByRole('link').allInnerTexts(), ['API Tokens', 'Token policy']);
    assert.equal(await accounts.locator('[aria-current="page"]').innerText(), 'API Tokens');
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
    // The scopes: a group of every scope there is, each checked; all of
    // them are asked for by leaving scopes out.
    const all = await sessionScopes();
    const offered = await dialog.getByRole('group', { name: 'Scopes' }).getByRole('checkbox').evaluateAll((bs) => bs.map((b) => [b.value, b.checked, b.labels[0].textContent]));
    assert.deepEqual(offered, all.map((s) => [s, true, s]), 'every scope offered, labelled and checked');
    assert.deepEqual(created.sent, { description: 'nightly masking', lifespanDays: 30 }, 'every scope: scopes left out');
    assert.deepEqual(first.scopes, all);
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

  await step('Close: the table shows the token with the API\'s status (UTC, as the page says) and its scopes, and the token leaves the page', async () => {
    await addDialog().getByRole('button', { name: 'Close', exact: true }).last().click();
    await addDialog().waitFor({ state: 'hidden' });
    await row('nightly masking').waitFor();
    // The API's words, in UTC: not the browser's local time (UTC+05:30 here).
    assert.notEqual(first.statusText, `Enabled - Expires on ${localMinute(first.expiresAt)}`);
    assert.deepEqual(await rowTexts(), [['nightly masking', first.statusText, EMAIL]]);
    assert.match(await page.locator('#tokens-page').innerText(), /Dates and times on this page are in UTC\./);
    assert.equal(await scopesShown(first.id), 'All scopes');
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

  await step('the lifespan is a number field the browser checks: over the maximum, not whole, below 1 or no number at all is refused at the field before sending', async () => {
    await page.getByRole('button', { name: 'Add Token' }).click();
    await addDialog().waitFor({ state: 'visible' });
    const life = addDialog().getByLabel('Lifespan (days)', { exact: true });
    assert.deepEqual(
      await life.evaluate((n) => ({ type: n.type, min: n.min, max: n.max, step: n.step, inputMode: n.inputMode, required: n.required })),
      { type: 'number', min: '1', max: '3650', step: '1', inputMode: 'numeric', required: false },
      'no policy: at most the API\'s 3650 days, blank allowed',
    );
    assert.ok((await life.getAttribute('aria-describedby')).split(' ').includes('token-lifespan-error'), 'the field is described by its error');
    let posted = false;
    const onRequest = (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/api-tokens')) posted = true;
    };
    page.on('request', onRequest);
    const said = 'Lifespan (days) must be a whole number from 1 to 3650, or blank for a token that never expires.';
    // Typed as a person types them. "ten" leaves "e" in the field, which is
    // no number: its value reads '' (badInput), and must not pass for blank.
    for (const [typed, reported] of [['3651', 'rangeOverflow'], ['1.5', 'stepMismatch'], ['0', 'rangeUnderflow'], ['-3', 'rangeUnderflow'], ['ten', 'badInput']]) {
      await life.fill('');
      await life.pressSequentially(typed);
      const validity = await life.evaluate((n, flag) => ({ valid: n.validity.valid, [flag]: n.validity[flag] }), reported);
      assert.deepEqual(validity, { valid: false, [reported]: true }, `${typed}: the browser reports ${reported}`);
      await page.locator('#token-lifespan-error').evaluate((n) => (n.textContent = '')); // what is said next, this try says
      await addDialog().getByRole('button', { name: 'Generate Token' }).click();
      await page.locator('#token-lifespan-error', { hasText: said }).waitFor();
      assert.equal(await life.getAttribute('aria-invalid'), 'true', `${typed} marked at the field`);
      assert.ok(await life.evaluate((n) => n === document.activeElement), 'focus on the field');
      assert.ok(await addDialog().locator('#add-token-error').isHidden(), 'said at the field, not above it');
    }
    await assertContrast('#add-token-dialog');
    await checkState('a lifespan refused at its field');
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
    await row('thrown away').waitFor({ state: 'detached' }); // the list is read again after the status is set: no race with it
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
    assert.deepEqual(await page.getByRole('menu').getByRole('menuitem').allInnerTexts(), ['Rotate Token', 'Delete Token']);
    assert.equal(await trigger.getAttribute('aria-expanded'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('role')), 'menuitem');
    await shot('11-row-menu.png');
    await checkState('a row menu open', '11-row-menu.png');
    await page.keyboard.press('Escape');
    await item.waitFor({ state: 'hidden' });
    assert.equal(await trigger.getAttribute('aria-expanded'), 'false');
    await page.keyboard.press('Enter');
    await page.keyboard.press('ArrowDown'); // from Rotate Token
    await page.keyboard.press('Enter'); // Delete Token
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

  await step('the menu works with arrow keys: ArrowDown opens it on the first item, the arrows go round, Home and End go to the ends', async () => {
    const trigger = page.locator('#tokens-body .menu-trigger').last();
    await trigger.focus();
    await page.keyboard.press('ArrowDown');
    const item = page.getByRole('menuitem', { name: 'Delete Token' });
    await item.waitFor();
    const focused = () => page.evaluate(() => document.activeElement.textContent);
    assert.equal(await focused(), 'Rotate Token', 'ArrowDown opens the menu on its first item');
    for (const [key, want] of [['ArrowDown', 'Delete Token'], ['ArrowDown', 'Rotate Token'], ['ArrowUp', 'Delete Token'], ['Home', 'Rotate Token'], ['End', 'Delete Token']]) {
      await page.keyboard.press(key);
      assert.equal(await focused(), want, `${key} moves focus to ${want}`);
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

  let ci; // the narrowed token, {token, id, …}
  await step('Add Token: a token needs a scope, said at the Scopes group; narrowed, it has just those, and the table lists them', async () => {
    const all = await sessionScopes();
    await page.getByRole('button', { name: 'Add Token' }).click();
    const dialog = addDialog();
    await dialog.waitFor({ state: 'visible' });
    await dialog.getByLabel('Description', { exact: true }).fill('ci: refresh uat1');
    const group = dialog.getByRole('group', { name: 'Scopes' });
    for (const scope of all) await group.getByRole('checkbox', { name: scope, exact: true }).uncheck();
    const post = () => page.waitForResponse((r) => r.url() === BASE + '/api-tokens' && r.request().method() === 'POST');
    let answer = post();
    await dialog.getByRole('button', { name: 'Generate Token' }).click();
    let r = await answer;
    const refused = await r.json();
    assert.deepEqual(r.request().postDataJSON().scopes, [], 'none checked: an empty list, which the API refuses');
    assert.equal(r.status(), 400);
    assert.equal(refused.error.code, 'INVALID_SCOPE');
    expectError(400);
    const line = page.locator('#token-scopes-error');
    await line.filter({ hasText: refused.error.message }).waitFor();
    assert.equal((await line.innerText()).trim(), refused.error.message, 'the API\'s message, word for word, at the group');
    assert.ok((await page.locator('#token-scopes').getAttribute('aria-describedby')).split(' ').includes('token-scopes-error'), 'the group is described by it');
    assert.ok(await line.evaluate((n) => n === document.activeElement), 'focus moves to the message');
    assert.ok(await page.locator('#add-token-error').isHidden(), 'said at the field, not for the whole dialog');
    assert.ok(await page.locator('#token-result').isHidden(), 'no token shown');
    assert.equal(await rows().count(), 1, 'nothing was created');
    await assertContrast('#add-token-dialog');
    await shot('13-scopes-refused.png');
    await checkState('a token without a scope', '13-scopes-refused.png');

    const narrowed = ['sandbox-refreshes:read', 'sandbox-refreshes:run'];
    for (const scope of narrowed) await group.getByRole('checkbox', { name: scope, exact: true }).check();
    answer = post();
    await dialog.getByRole('button', { name: 'Generate Token' }).click();
    r = await answer;
    assert.equal(r.status(), 201);
    ci = await r.json();
    assert.deepEqual(r.request().postDataJSON(), { description: 'ci: refresh uat1', scopes: narrowed });
    assert.deepEqual(ci.scopes, narrowed);
    assert.equal(await line.isHidden(), true, 'the message is gone');
    assert.deepEqual(await group.getByRole('checkbox').evaluateAll((bs) => bs.map((b) => b.disabled)), all.map(() => true), 'spent once generated');
    await copyAndClose(dialog, ci.token);
    await rowOf(ci.id).waitFor();
    assert.deepEqual(await scopesShown(ci.id), narrowed, 'the table lists a narrowed token\'s scopes');
    assert.equal(await scopesShown(generated.id), 'All scopes');
    assert.equal((await call('GET', '/api-tokens', ci.token)).status, 403, 'the token can do only what it was given');
  });

  let expiring; // {short, week}: tokens that expire within 7 days
  await step('the table says when and from where each token was last used; tokens that expire soon are flagged, and the page warns above the table', async () => {
    assert.equal((await call('GET', '/whoami', ci.token)).status, 200); // one use, from 127.0.0.1
    const s = await session(EMAIL, TENANT);
    const short = (await call('POST', '/api-tokens', s, { description: 'short job', lifespanDays: 3 })).body;
    const week = (await call('POST', '/api-tokens', s, { description: 'weekly export', lifespanDays: 7 })).body;
    expiring = { short, week };
    await page.reload();
    await rowOf(week.id).waitFor();
    const listed = (await call('GET', '/api-tokens', s)).body.items;
    assert.equal(listed.length, 4);
    for (const t of listed) {
      const cells = await cellsOf(t.id);
      assert.equal(cells['Token Status'], t.statusText, `${t.description}: the API's status`);
      assert.equal(cells['Last used'], t.lastUsedText, `${t.description}: the API's last use`);
    }
    assert.match((await cellsOf(ci.id))['Last used'], /^Last used on [A-Z][a-z]{2} \d\d, \d{4} \d\d:\d\d from 127\.0\.0\.1$/);
    assert.equal((await cellsOf(week.id))['Last used'], 'Never used');
    // Flagged: the API's words in a warning with a sign and a border, not by colour alone.
    assert.match(short.statusText, /^Enabled - Expires in 3 days \(/);
    assert.match(week.statusText, /^Enabled - Expires in 7 days \(/);
    for (const t of [short, week]) {
      const flag = rowOf(t.id).locator('.status-soon');
      assert.equal(await flag.textContent(), t.statusText);
      const look = await flag.evaluate((n) => ({ sign: getComputedStyle(n, '::before').content, border: getComputedStyle(n).borderTopStyle, weight: Number(getComputedStyle(n).fontWeight) }));
      assert.match(look.sign, /⚠/, `a sign before "${t.statusText}"`);
      assert.equal(look.border, 'solid');
      assert.ok(look.weight >= 600, 'in bold');
    }
    for (const id of [generated.id, ci.id]) assert.equal(await rowOf(id).locator('.status-soon').count(), 0, 'tokens that do not expire soon are not flagged');
    const summary = page.locator('#tokens-expiring');
    await summary.waitFor();
    assert.match(await summary.innerText(), /^2 tokens expire within 7 days\. Before then, rotate each/);
    assert.match(await summary.evaluate((n) => getComputedStyle(n, '::before').content), /⚠/);
    assert.ok((await summary.boundingBox()).y < (await page.locator('#tokens-table').boundingBox()).y, 'above the table');
    await assertContrast('body');
    await shot('14-tokens-expiring.png');
    await checkState('tokens that expire soon', '14-tokens-expiring.png');
  });

  let rotated; // the rotation's answer: the new token, and .previous
  await step('Rotate Token: the dialog offers what happens to the old token, sends it, shows the new token once, and the list shows both', async () => {
    await rowOf(ci.id).getByRole('button', { name: 'Actions for token ci: refresh uat1' }).click();
    await page.getByRole('menuitem', { name: 'Rotate Token' }).click();
    const dialog = rotateDialog();
    await dialog.waitFor({ state: 'visible' });
    assert.match(await page.locator('#rotate-token-intro').innerText(), /^Rotating ci: refresh uat1 makes a new token with the same description, user, scopes and lifespan/);
    const choices = dialog.getByRole('group', { name: 'The old token' }).getByRole('radio');
    assert.deepEqual(await choices.evaluateAll((rs) => rs.map((r) => r.labels[0].textContent)), ['Revoke the old token now', 'Keep it working for 1 hour', 'Keep it working for 1 day', 'Keep it working for 7 days']);
    assert.ok(await dialog.getByRole('radio', { name: 'Keep it working for 1 day' }).isChecked(), 'a day\'s overlap unless chosen otherwise');
    assert.equal(await page.evaluate(() => document.activeElement.labels[0].textContent), 'Keep it working for 1 day', 'focus on the choice');
    assert.match(await page.locator('#rotate-overlap-hint').innerText(), /never works past its own expiry/);
    await assertLabelled();
    await assertContrast('#rotate-token-dialog');
    await shot('15-rotate-token.png');
    await checkState('the Rotate Token dialog', '15-rotate-token.png');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const r = await rotateInConsole(ci.id, 'Keep it working for 1 hour');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.sent, { overlapMinutes: 60 });
    assert.match(r.key, /^[0-9a-f-]{36}$/, 'an Idempotency-Key: a retry gets the same new token');
    rotated = r.body;
    assert.equal(rotated.rotatedFrom, ci.id);
    assert.ok(Math.abs(worksFor(rotated.previous) - 60) < 2, `the old token works for an hour: ${rotated.previous.worksUntil}`);
    // Shown once, as Add Token shows it.
    assert.equal(await dialog.getByLabel('API token', { exact: true }).inputValue(), rotated.token);
    assert.match(await page.locator('#rotate-token-warning').innerText(), /cannot be viewed again/);
    assert.match(rotated.previous.statusText, /^Enabled - Replaced, works until /);
    assert.equal(await page.locator('#rotate-previous').innerText(), `The old token: ${rotated.previous.statusText}.`);
    assert.ok(await dialog.getByRole('button', { name: 'Copy' }).evaluate((b) => b === document.activeElement), 'focus on Copy');
    assert.ok(await dialog.getByRole('group', { name: 'The old token' }).isHidden(), 'the choice is made');
    await assertLabelled();
    await assertContrast('#rotate-token-dialog');
    await shot('16-token-rotated.png');
    await checkState('a token was rotated', '16-token-rotated.png');
    // Closing before copying asks first, from the Close button and from Escape.
    const confirm = dialog.getByRole('group', { name: /You haven.t copied the token/ });
    await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();
    await confirm.waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Go back to the token');
    await page.keyboard.press('Escape');
    await confirm.waitFor({ state: 'hidden' });
    await page.keyboard.press('Escape');
    await confirm.waitFor();
    await checkState('closing a rotated token before copying it');
    await dialog.getByRole('button', { name: 'Go back to the token' }).click();
    await copyAndClose(dialog, rotated.token);
    await page.locator('#tokens-status', { hasText: 'Token “ci: refresh uat1” was rotated.' }).waitFor();
    await page.waitForFunction((id) => document.activeElement.closest(`tr[data-token-id="${id}"]`) !== null, rotated.id, { timeout: 2000 }); // focus on the new token's ⋯
    // The list: the new token, and the old one as the rotation left it.
    const listed = Object.fromEntries((await call('GET', '/api-tokens', await session(EMAIL, TENANT))).body.items.map((t) => [t.id, t]));
    assert.equal((await cellsOf(rotated.id))['Token Status'], listed[rotated.id].statusText);
    assert.equal((await cellsOf(ci.id))['Token Status'], listed[ci.id].statusText);
    assert.match(listed[ci.id].statusText, /^Enabled - Replaced, works until /);
    assert.deepEqual(await scopesShown(rotated.id), ['sandbox-refreshes:read', 'sandbox-refreshes:run'], 'the same scopes');
    await rowOf(ci.id).getByRole('button', { name: /^Actions for token / }).click();
    assert.deepEqual(await page.getByRole('menu').getByRole('menuitem').allInnerTexts(), ['Delete Token'], 'a replaced token cannot be rotated again: no Rotate Token');
    await page.keyboard.press('Escape');
    assert.equal((await call('GET', '/whoami', rotated.token)).status, 200, 'the new token works');
    assert.equal((await call('GET', '/whoami', ci.token)).status, 200, 'the old one too, for the hour');
  });

  await step('each choice sends its overlap: 1 day, 7 days; "Revoke the old token now" revokes the old token at once', async () => {
    for (const [choice, minutes] of [['Keep it working for 1 day', 1440], ['Keep it working for 7 days', 10080], ['Revoke the old token now', 0]]) {
      const r = await rotateInConsole(rotated.id, choice);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.deepEqual(r.sent, { overlapMinutes: minutes }, choice);
      assert.ok(Math.abs(worksFor(r.body.previous) - minutes) < 2, `${choice}: works until ${r.body.previous.worksUntil}`);
      await copyAndClose(rotateDialog(), r.body.token);
      await rowOf(r.body.id).waitFor();
      if (minutes === 0) {
        assert.equal(r.body.previous.statusText, 'Replaced');
        await rowOf(rotated.id).waitFor({ state: 'detached' }); // revoked as by a delete: it leaves the list
        assert.equal((await call('GET', '/whoami', rotated.token)).status, 401, 'revoked at once');
      }
      rotated = r.body;
    }
  });

  await step('Rotate Token shows the API\'s refusal in the dialog: a token replaced behind the page\'s back, a colleague\'s token', async () => {
    // The newest token renews itself, as a CI job does, while the page still lists it.
    const behind = await call('POST', `/api-tokens/${rotated.id}/rotate`, rotated.token, { overlapMinutes: 5 });
    assert.equal(behind.status, 201);
    let r = await rotateInConsole(rotated.id, 'Keep it working for 1 hour');
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'TOKEN_REPLACED');
    expectError(409);
    const alert = rotateDialog().getByRole('alert');
    await alert.filter({ hasText: r.body.error.message }).waitFor();
    assert.equal((await alert.innerText()).trim(), r.body.error.message, 'the API\'s message, word for word');
    assert.ok(await page.locator('#rotate-token-result').isHidden(), 'no token shown');
    await assertContrast('#rotate-token-dialog');
    await checkState('a rotation refused');
    await rotateDialog().getByRole('button', { name: 'Cancel' }).click();
    await rotateDialog().waitFor({ state: 'hidden' });
    await page.waitForFunction((id) => document.activeElement.closest(`tr[data-token-id="${id}"]`) !== null, rotated.id, { timeout: 2000 }); // back on the row's ⋯

    const grace = await session('grace@acme.example', TENANT);
    const hers = (await call('POST', '/api-tokens', grace, { description: 'grace: nightly' })).body;
    await page.reload();
    await rowOf(hers.id).waitFor();
    r = await rotateInConsole(hers.id, 'Revoke the old token now');
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, 'NOT_TOKEN_OWNER');
    expectError(403);
    await alert.filter({ hasText: r.body.error.message }).waitFor();
    assert.match(r.body.error.message, /grace@acme\.example/);
    await rotateDialog().getByRole('button', { name: 'Close' }).first().click(); // the header's ×
    await rotateDialog().waitFor({ state: 'hidden' });
    assert.equal((await call('GET', '/whoami', hers.token)).status, 200, 'her token is untouched');
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

  await step('Pipeline secrets on a plan\'s page: the key is checked at its field, stored and never shown back; the pipeline\'s DCS token is made straight into its secret', async () => {
    await page.getByRole('link', { name: 'Edit plan uat2' }).click();
    await page.locator('#plan-form').waitFor();
    const section = page.getByRole('region', { name: 'Pipeline secrets' });
    await section.waitFor();
    const s = await session(EMAIL, TENANT);
    const planNow = async () => (await call('GET', '/sandbox-plans/uat2', s)).body;
    const before = await planNow();
    const keyField = section.getByLabel('Private key (PEM)', { exact: true });
    const keyError = page.locator('#secret-key-error');
    const putKey = () => page.waitForResponse((r) => r.url() === `${BASE}/sandbox-plans/uat2/salesforce-key` && r.request().method() === 'PUT');

    // A key the pipeline cannot use: the API's message, at the field.
    const weak = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await keyField.fill(weak);
    let answer = putKey();
    await section.getByRole('button', { name: 'Store the key' }).click();
    let r = await answer;
    const refused = await r.json();
    assert.equal(r.status(), 400);
    assert.equal(refused.error.code, 'INVALID_PRIVATE_KEY');
    assert.equal(r.request().postDataJSON().privateKey, weak, 'the key as pasted');
    expectError(400);
    await keyError.filter({ hasText: refused.error.message }).waitFor();
    assert.equal((await keyError.innerText()).trim(), refused.error.message, 'the API\'s message, word for word');
    assert.equal(await keyField.getAttribute('aria-invalid'), 'true');
    assert.ok((await keyField.getAttribute('aria-describedby')).split(' ').includes('secret-key-error'), 'the field is described by its message');
    assert.ok(await keyField.evaluate((n) => n === document.activeElement), 'focus moves to the field');
    assert.deepEqual(await planNow(), before, 'nothing changed');
    await checkState('a private key refused');

    // A file far larger than a key is refused before anything is sent.
    let sent = false;
    const onRequest = (q) => {
      if (q.url().endsWith('/salesforce-key')) sent = true;
    };
    page.on('request', onRequest);
    const fileInput = section.getByLabel('Key file', { exact: true });
    await fileInput.setInputFiles({ name: 'backup.tar', mimeType: 'application/octet-stream', buffer: Buffer.alloc(70 * 1024, 65) });
    await keyError.filter({ hasText: /^backup\.tar is 70 KiB: a private key's PEM file is a few KiB\./ }).waitFor();
    page.off('request', onRequest);
    assert.equal(sent, false, 'the file was not sent');
    assert.equal(await keyField.inputValue(), weak, 'the field keeps what it held');

    // The key's file: read into the field, stored, and gone from the page.
    const pem = fs.readFileSync(KEY_FILE, 'utf8');
    await fileInput.setInputFiles(KEY_FILE);
    await page.waitForFunction((want) => document.getElementById('secret-key').value === want, pem);
    assert.equal(await keyError.isHidden(), true, 'the last message is gone');
    answer = putKey();
    await section.getByRole('button', { name: 'Store the key' }).click();
    r = await answer;
    const stored = await r.json();
    assert.ok([200, 201].includes(r.status()), JSON.stringify(stored));
    assert.equal(r.request().postDataJSON().privateKey, pem);
    assert.match(stored.secretArn, /:secret:dcs-access\/acme\/uat2\/salesforce-key-/);
    assert.equal(stored.planUpdated, true);
    await page.locator('#secret-key-status', { hasText: `Stored at ${stored.secretArn}. The plan points at it.` }).waitFor();
    assert.equal(await keyField.inputValue(), '', 'the key is never shown back');
    assert.equal(await keyField.getAttribute('aria-invalid'), null);
    const keyLine = pem.split('\n')[3]; // a line of the key's body
    assert.equal(await page.evaluate((l) => document.documentElement.outerHTML.includes(l) || Array.from(document.querySelectorAll('textarea, input')).some((n) => n.value.includes(l)), keyLine), false, 'nothing of the key is left in the page');
    assert.equal(await planControl('salesforce.privateKeySecretArn').inputValue(), stored.secretArn, 'the form points at it too');
    assert.equal((await planNow()).salesforce.privateKeySecretArn, stored.secretArn, 'the plan points at it');

    // The DCS token: while the secret holds a colleague's token, the API says so at the button.
    const grace = await session('grace@acme.example', TENANT);
    const hers = await call('POST', '/sandbox-plans/uat2/dcs-token', grace);
    assert.equal(hers.status, 201);
    const create = section.getByRole('button', { name: 'Create a DCS token for the pipeline' });
    const postToken = () => page.waitForResponse((q) => q.url() === `${BASE}/sandbox-plans/uat2/dcs-token` && q.request().method() === 'POST');
    answer = postToken();
    await create.click();
    r = await answer;
    const notHers = await r.json();
    assert.equal(r.status(), 403);
    assert.equal(notHers.error.code, 'NOT_TOKEN_OWNER');
    expectError(403);
    const tokenError = page.locator('#secret-token-error');
    await tokenError.filter({ hasText: notHers.error.message }).waitFor();
    assert.ok((await create.getAttribute('aria-describedby')).split(' ').includes('secret-token-error'), 'the button is described by the message');
    assert.ok(await tokenError.evaluate((n) => n === document.activeElement), 'focus moves to the message');

    // She deletes hers; made again, it is a new token of ada's, which nobody sees.
    assert.equal((await call('DELETE', `/api-tokens/${hers.body.token.id}`, grace)).status, 204);
    answer = postToken();
    await create.click();
    r = await answer;
    const minted = await r.json();
    assert.equal(r.status(), 201, JSON.stringify(minted));
    assert.equal(minted.token.description, 'sandbox refresh: uat2');
    assert.equal(minted.token.associatedUser, EMAIL);
    assert.deepEqual(minted.token.scopes, ['compliance-jobs:run']);
    const status = page.locator('#secret-token-status');
    await status.filter({ hasText: `Token “sandbox refresh: uat2” stored at ${minted.secretArn}. Secrets Manager rotates it every ${minted.rotation.everyDays} days. The plan points at it.` }).waitFor();
    assert.equal(await tokenError.isHidden(), true, 'the message is gone');
    assert.equal(await planControl('dcs.apiTokenSecretArn').inputValue(), minted.secretArn, 'the form points at it');
    assert.equal((await planNow()).dcs.apiTokenSecretArn, minted.secretArn, 'the plan points at it');
    assert.ok(await create.evaluate((n) => n === document.activeElement), 'focus stays on the button');
    // Asked again, it rotates the token the secret holds.
    answer = postToken();
    await create.click();
    r = await answer;
    const again = await r.json();
    assert.equal(r.status(), 200);
    assert.equal(again.rotated, true);
    await status.filter({ hasText: `The token stored at ${again.secretArn} was rotated: the old one keeps working for ${again.rotation.overlapMinutes} minutes.` }).waitFor();
    await assertContrast('#plan-secrets');
    await shot('17-pipeline-secrets.png');
    await checkState('a plan\'s pipeline secrets', '17-pipeline-secrets.png');

    // The key stored from the console is the pipeline's: saving the plan
    // signs in to production with it (the org trusts it under KEY_CONSUMER).
    await planControl('salesforce.consumerKey').fill(KEY_CONSUMER);
    answer = page.waitForResponse((q) => q.request().method() === 'PUT' && q.url() === `${BASE}/sandbox-plans/uat2`);
    await page.getByRole('button', { name: 'Save plan' }).click();
    assert.equal((await answer).status(), 200);
    await page.locator('#refreshes-status', { hasText: /^Plan uat2 saved\.$/ }).waitFor();
    const saved = await planNow();
    assert.equal(saved.salesforce.privateKeySecretArn, stored.secretArn);
    assert.equal(saved.dcs.apiTokenSecretArn, minted.secretArn);
  });

  await step('Audit: the tenant\'s changes, newest first, as the API lists them, a page at a time; the actions offered are the API\'s', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await page.getByRole('heading', { name: 'Audit trail', level: 1 }).waitFor();
    await page.locator('#audit-body tr').first().waitFor();
    const options = await page.getByLabel('Action', { exact: true }).locator('option').evaluateAll((os) => os.map((o) => o.value));
    assert.deepEqual(options, ['', ...AUDIT_ACTIONS], 'every action the API records, and only those');
    const s = await session(EMAIL, TENANT);
    const first = (await call('GET', '/audit-events?limit=20', s)).body;
    assert.ok(first.nextToken, 'more than a page of events');
    let shown = await auditRows();
    assert.deepEqual(shown.map((r) => r.id), first.items.map((e) => e.id), 'the API\'s first page, in its order (newest first)');
    for (const [i, e] of first.items.entries()) {
      assert.equal(shown[i].datetime, e.time);
      assert.equal(shown[i]['Time (UTC)'], utcSecond(e.time), 'in UTC, as the page says');
      assert.ok(shown[i].Target.includes(e.target.id), `${e.action}: the target's id`);
    }
    assert.ok(Date.parse(first.items[0].time) >= Date.parse(first.items[19].time), 'newest first');
    await assertContrast('#audit-page');
    await shot('21-audit.png');
    await checkState('the audit trail', '21-audit.png');
    // Page 2 is the API's page 2.
    await page.getByRole('navigation', { name: 'Audit pages' }).getByRole('button', { name: 'Next page' }).click();
    await page.locator('#audit-page-label', { hasText: 'Page 2' }).waitFor();
    const second = (await call('GET', '/audit-events?limit=20&nextToken=' + encodeURIComponent(first.nextToken), s)).body;
    await page.waitForFunction((id) => document.querySelector('#audit-body tr')?.dataset.eventId === id, second.items[0].id);
    assert.deepEqual((await auditRows()).map((r) => r.id), second.items.map((e) => e.id));
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.waitForFunction((id) => document.querySelector('#audit-body tr')?.dataset.eventId === id, first.items[0].id);
  });

  await step('Audit: filtered by action and by UTC day; a range that ends before it starts is refused at its field', async () => {
    const filters = page.getByRole('form', { name: 'Filters' });
    await filters.getByLabel('Action', { exact: true }).selectOption({ label: 'Token rotated' });
    let answer = page.waitForResponse((r) => r.url().startsWith(`${BASE}/audit-events?`));
    await filters.getByRole('button', { name: 'Show events' }).click();
    let r = await answer;
    assert.equal(new URL(r.url()).searchParams.get('action'), 'api-token.rotated');
    const rotations = (await r.json()).items;
    await page.waitForFunction((n) => document.querySelectorAll('#audit-body tr').length === n, rotations.length);
    const shown = await auditRows();
    assert.ok(shown.length >= 5 && shown.every((row) => row.Action === 'Token rotated'), `only rotations: ${shown.map((row) => row.Action)}`);
    // The rotation made in the console: by ada, of the CI token, naming the new one.
    const ev = rotations.find((e) => e.target.id === ci.id);
    assert.ok(ev, 'the console\'s rotation of the CI token is recorded');
    assert.ok(ev.details.newTokenId, 'the new token named');
    const row = shown.find((x) => x.id === ev.id);
    assert.equal(row.By, EMAIL);
    assert.equal(row.Target, `Token ${ci.id}`);
    assert.ok(row.Details.includes(`New token: ${ev.details.newTokenId}`), row.Details);
    assert.ok(row.From.startsWith('127.0.0.1'), row.From);

    // The day's range: today (UTC) has them all, tomorrow none.
    const day = (offset) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    await filters.getByLabel('From (UTC date)', { exact: true }).fill(day(0));
    await filters.getByLabel('To (UTC date)', { exact: true }).fill(day(0));
    answer = page.waitForResponse((q) => q.url().startsWith(`${BASE}/audit-events?`));
    await filters.getByRole('button', { name: 'Show events' }).click();
    r = await answer;
    const q = new URL(r.url()).searchParams;
    assert.deepEqual([q.get('since'), q.get('until')], [`${day(0)}T00:00:00Z`, `${day(0)}T23:59:59.999Z`], 'the whole UTC day');
    assert.equal((await r.json()).items.length, rotations.length);
    await filters.getByLabel('From (UTC date)', { exact: true }).fill(day(1));
    await filters.getByLabel('To (UTC date)', { exact: true }).fill(day(1));
    await filters.getByRole('button', { name: 'Show events' }).click();
    await page.locator('#audit-empty', { hasText: 'No events match these filters.' }).waitFor();
    assert.ok(await page.locator('#audit-table').isHidden());
    await checkState('no audit events match the filters');

    // To before From: the API's message at To, and the list stays as it was.
    await filters.getByLabel('To (UTC date)', { exact: true }).fill(day(0));
    answer = page.waitForResponse((q2) => q2.url().startsWith(`${BASE}/audit-events?`));
    await filters.getByRole('button', { name: 'Show events' }).click();
    r = await answer;
    assert.equal(r.status(), 400);
    const refused = (await r.json()).error;
    assert.equal(refused.code, 'INVALID_TIME_RANGE');
    expectError(400);
    const until = filters.getByLabel('To (UTC date)', { exact: true });
    await page.locator('#audit-until-error', { hasText: refused.message }).waitFor();
    assert.equal(await until.getAttribute('aria-invalid'), 'true');
    assert.ok(await until.evaluate((n) => n === document.activeElement), 'focus on the field');
    assert.ok((await until.getAttribute('aria-describedby')).split(' ').includes('audit-until-error'));
    await assertContrast('#audit-page');
    await checkState('an audit filter refused');

    // Clear filters: every event again, and the messages gone.
    await filters.getByRole('button', { name: 'Clear filters' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#audit-body tr').length === 20);
    assert.equal(await until.inputValue(), '');
    assert.equal(await until.getAttribute('aria-invalid'), null);
    assert.equal(await page.locator('#audit-until-error').innerText(), '');
  });

  await step('Audit: the filters are kept in the address: reloaded, the same filters and events; Back and Forward go between filters, and pages; a value the address should not hold is ignored and never sent', async () => {
    const s = await session(EMAIL, TENANT);
    const listed = async (query) => (await call('GET', '/audit-events?' + new URLSearchParams({ limit: '20', ...query }), s)).body;
    const today = new Date().toISOString().slice(0, 10);
    const filters = page.getByRole('form', { name: 'Filters' });
    const fields = { action: filters.getByLabel('Action', { exact: true }), since: filters.getByLabel('From (UTC date)', { exact: true }), until: filters.getByLabel('To (UTC date)', { exact: true }) };
    const form = async () => ({ action: await fields.action.inputValue(), since: await fields.since.inputValue(), until: await fields.until.inputValue() });
    const address = () => page.evaluate(() => location.hash);
    // shows waits until the table lists exactly items, in their order.
    const shows = (items) =>
      page.waitForFunction((ids) => {
        const rows = Array.from(document.querySelectorAll('#audit-body tr'), (tr) => tr.dataset.eventId);
        return rows.length === ids.length && rows.every((id, i) => id === ids[i]);
      }, items.map((e) => e.id));
    // asked runs fn and returns the query of the audit request it makes.
    const asked = async (fn) => {
      const answer = page.waitForResponse((r) => r.url().startsWith(`${BASE}/audit-events?`));
      await fn();
      return Object.fromEntries(new URL((await answer).url()).searchParams);
    };
    const showEvents = () => filters.getByRole('button', { name: 'Show events' }).click();

    assert.equal(await address(), '#/audit', 'Clear filters: the address names none');
    const all = await listed({});
    assert.ok(all.nextToken, 'more than a page');
    await shows(all.items);

    // Each filter applied is a new address.
    await fields.action.selectOption({ label: 'Token rotated' });
    assert.deepEqual(await asked(showEvents), { action: 'api-token.rotated', limit: '20' });
    assert.equal(await address(), '#/audit?action=api-token.rotated');
    const rotated = await listed({ action: 'api-token.rotated' });
    await shows(rotated.items);
    await fields.since.fill(today);
    await fields.until.fill(today);
    const ofToday = { action: 'api-token.rotated', since: `${today}T00:00:00Z`, until: `${today}T23:59:59.999Z` };
    assert.deepEqual(await asked(showEvents), { ...ofToday, limit: '20' });
    assert.equal(await address(), `#/audit?action=api-token.rotated&since=${today}&until=${today}`);
    const todays = await listed(ofToday);
    await shows(todays.items);

    // Reloaded: the same filters in the form, asked of the API, and the same events.
    assert.deepEqual(await asked(() => page.reload()), { ...ofToday, limit: '20' });
    await page.getByRole('heading', { name: 'Audit trail', level: 1 }).waitFor();
    assert.deepEqual(await form(), { action: 'api-token.rotated', since: today, until: today });
    await shows(todays.items);
    await checkState('the audit trail filtered from its address');

    // Back: the filters before; Back again: none; Forward: the action again.
    assert.deepEqual(await asked(() => page.goBack()), { action: 'api-token.rotated', limit: '20' });
    assert.equal(await address(), '#/audit?action=api-token.rotated');
    assert.deepEqual(await form(), { action: 'api-token.rotated', since: '', until: '' });
    await shows(rotated.items);
    assert.deepEqual(await asked(() => page.goBack()), { limit: '20' });
    assert.equal(await address(), '#/audit');
    assert.deepEqual(await form(), { action: '', since: '', until: '' });
    await shows(all.items);
    assert.deepEqual(await asked(() => page.goForward()), { action: 'api-token.rotated', limit: '20' });
    assert.deepEqual(await form(), { action: 'api-token.rotated', since: '', until: '' });
    await shows(rotated.items);

    // Pages: each a history entry, the address unchanged (the cursor is the
    // API's, kept in the entry's state); reloaded, the same page; Back, the one before.
    await asked(() => filters.getByRole('button', { name: 'Clear filters' }).click());
    await shows(all.items);
    const pager = page.getByRole('navigation', { name: 'Audit pages' });
    assert.deepEqual(await asked(() => pager.getByRole('button', { name: 'Next page' }).click()), { limit: '20', nextToken: all.nextToken });
    const second = await listed({ nextToken: all.nextToken });
    await shows(second.items);
    assert.equal(await address(), '#/audit', 'no cursor in the address');
    assert.deepEqual(await asked(() => page.reload()), { limit: '20', nextToken: all.nextToken });
    await shows(second.items);
    await page.locator('#audit-page-label', { hasText: 'Page 2' }).waitFor();
    assert.deepEqual(await asked(() => page.goBack()), { limit: '20' });
    await shows(all.items);
    await page.locator('#audit-page-label', { hasText: 'Page 1' }).waitFor();

    // An entry's state is checked too: a page remembered for another tenant
    // is not asked for; a cursor the API refuses gives the first page.
    const remember = (entry) => page.evaluate((e) => history.replaceState(e, '', location.href), entry);
    await remember({ audit: { hash: '#/audit', tenant: 'globex', pageStarts: ['', all.nextToken], page: 1 } });
    assert.deepEqual(await asked(() => page.reload()), { limit: '20' });
    await shows(all.items);
    await remember({ audit: { hash: '#/audit', tenant: TENANT, pageStarts: ['', 'bm90LW91cnM'], page: 1 } });
    expectError(400);
    const refused = page.waitForResponse((r) => r.url().startsWith(`${BASE}/audit-events?`) && r.status() === 400);
    await page.reload();
    assert.equal((await (await refused).json()).error.code, 'INVALID_NEXT_TOKEN');
    await shows(all.items);
    await page.locator('#audit-page-label', { hasText: 'Page 1' }).waitFor();
    assert.equal(await page.evaluate(() => history.state.audit.page), 0, 'the entry remembers the first page now');
    assert.equal(await page.locator('#audit-status').innerText(), '', 'nothing to say: the newest events are shown');

    // Opened from an address with values it should not hold (no such
    // action, no such day, a year the API does not read): each is ignored,
    // its field left blank, and the address tidied to what is shown.
    const requests = [];
    const onRequest = (r) => {
      if (r.url().startsWith(`${BASE}/audit-events?`)) requests.push(Object.fromEntries(new URL(r.url()).searchParams));
    };
    page.on('request', onRequest);
    await page.goto('about:blank');
    assert.deepEqual(await asked(() => page.goto(`${BASE}/#/audit?action=api-token.bogus&since=2026-02-30&until=99999-12-31`)), { limit: '20' });
    await page.getByRole('heading', { name: 'Audit trail', level: 1 }).waitFor();
    assert.deepEqual(await form(), { action: '', since: '', until: '' });
    assert.equal(await fields.action.evaluate((sel) => sel.selectedOptions[0]?.textContent), 'All actions', 'the Action field shows its blank choice');
    assert.equal(await address(), '#/audit');
    await shows(all.items);
    // A good value among bad ones is kept, alone.
    assert.deepEqual(await asked(() => page.evaluate(() => (location.hash = '#/audit?action=api-token.rotated&since=yesterday&until=2026-13-01'))), { action: 'api-token.rotated', limit: '20' });
    assert.deepEqual(await form(), { action: 'api-token.rotated', since: '', until: '' });
    assert.equal(await address(), '#/audit?action=api-token.rotated');
    await shows(rotated.items);
    page.off('request', onRequest);
    assert.deepEqual(requests, [{ limit: '20' }, { action: 'api-token.rotated', limit: '20' }], 'nothing from the address was sent unchecked');

    await page.getByRole('link', { name: 'Sandbox refreshes' }).click(); // where the next step signs out
    await page.getByRole('heading', { name: 'Sandbox refreshes', level: 1 }).waitFor();
  });

  await step('sign out; another tenant with 21 tokens pages through them; the last row\'s menu shows whole', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
    assert.match(await page.locator('#signin-message').innerText(), /signed out/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('dcs-access.session')), null);
    const bob = await session('bob@globex.example', 'globex');
    for (let i = 1; i <= 21; i++) {
      // The newest, on the first page, expires in 3 days.
      const r = await call('POST', '/api-tokens', bob, { description: `globex job ${String(i).padStart(2, '0')}`, lifespanDays: i === 21 ? 3 : undefined });
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
    // The warning speaks of the page it is on: the list comes a page at a time.
    assert.match(await page.locator('#tokens-expiring').innerText(), /^1 token on this page expires within 7 days\. Before then, rotate it/);
    const next = page.getByRole('button', { name: 'Next page' });
    assert.ok(await page.getByRole('button', { name: 'Previous page' }).isDisabled());
    await next.click();
    await page.locator('#tokens-page-label', { hasText: 'Page 2' }).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr').length === 1);
    assert.ok(await next.isDisabled());
    assert.equal((await rowTexts())[0][0], 'globex job 01', 'newest first: the oldest is last');
    assert.ok(await page.locator('#tokens-expiring').isHidden(), 'nothing on page 2 expires soon');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.waitForFunction(() => document.querySelectorAll('#tokens-body tr').length === 20);
    // The last row at the bottom of the window: its menu has no room below.
    const last = page.locator('#tokens-body .menu-trigger').last();
    await last.evaluate((b) => b.scrollIntoView({ block: 'end' }));
    assert.equal(await assertMenuWhole(last), 'above', 'with no room below, the menu opens upwards');
    assert.equal((await rowTexts()).some((r) => r[0] === 'nightly masking' || r[0].startsWith('local sandbox')), false, 'another tenant\'s tokens are not shown');
  });

  // The token policy, in a tenant of its own (initech), so that no step
  // before it is under a policy.
  let oldToken; // made before the policy: 30 days, which the policy then refuses
  const policyPage = () => page.locator('#policy-page');
  await step('Token policy: a user who is not an administrator reads the policy, and is offered no change', async () => {
    const s = await session('uma@initech.example', 'initech');
    oldToken = (await call('POST', '/api-tokens', s, { description: 'monthly export', lifespanDays: 30 })).body;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
    await page.getByLabel('E-mail', { exact: true }).fill('uma@initech.example');
    await page.getByLabel('Tenant', { exact: true }).fill('initech');
    assert.equal(await page.getByLabel('Tenant administrator', { exact: true }).isChecked(), false);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API Tokens', level: 1 }).waitFor(); // the tab's page
    await page.getByRole('navigation', { name: 'Accounts' }).getByRole('link', { name: 'Token policy' }).click();
    await page.getByRole('heading', { name: 'Token policy', level: 1 }).waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Accounts' }).locator('[aria-current="page"]').innerText(), 'Token policy');
    await page.locator('#policy-summary').waitFor();
    const stored = (await call('GET', '/tenant-policy', s)).body;
    assert.equal(stored.version, 0);
    assert.deepEqual(await factsOf('#policy-summary'), {
      'Maximum lifespan': 'No maximum',
      'Tokens must expire': 'No',
      'Scopes a token may have': 'All scopes',
      'Who may delete a token': 'Anyone of the tenant',
      Version: '0: none set yet, every token allowed',
    });
    assert.equal(await page.locator('#policy-who').innerText(), 'Only a tenant administrator can change it. Ask one of yours.');
    assert.ok(await page.locator('#policy-form').isHidden(), 'no form to change it');
    assert.equal(await policyPage().getByRole('button', { name: 'Save policy' }).count(), 0);
    await assertContrast('#policy-page');
    await checkState('the token policy, read by a user');
  });

  await step('Token policy: an administrator changes it; the API\'s refusals are shown at their fields and change nothing', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('E-mail', { exact: true }).fill('ivy@initech.example');
    await page.getByLabel('Tenant', { exact: true }).fill('initech');
    await page.getByLabel('Tenant administrator', { exact: true }).check();
    const signIn = page.waitForRequest((q) => q.url() === `${BASE}/local/sessions`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.deepEqual((await signIn).postDataJSON(), { email: 'ivy@initech.example', tenant: 'initech', admin: true });
    await page.getByRole('heading', { name: 'Token policy', level: 1 }).waitFor(); // the tab's page
    await page.locator('#account-name', { hasText: 'ivy@initech.example · initech · administrator' }).waitFor();
    const form = page.locator('#policy-form');
    await form.waitFor();
    assert.equal(await page.locator('#policy-who').innerText(), 'You are a tenant administrator: change it below.');
    const all = await sessionScopes();
    const boxes = form.getByRole('group', { name: 'Scopes a token may have' }).getByRole('checkbox');
    assert.deepEqual(await boxes.evaluateAll((bs) => bs.map((b) => [b.value, b.checked])), all.map((sc) => [sc, true]), 'every scope allowed, as stored');
    const admin = await session('ivy@initech.example', 'initech', true);
    const before = (await call('GET', '/tenant-policy', admin)).body;
    const put = () => page.waitForResponse((r) => r.url() === `${BASE}/tenant-policy` && r.request().method() === 'PUT');
    const save = async () => {
      const answer = put();
      await form.getByRole('button', { name: 'Save policy' }).click();
      const r = await answer;
      return { status: r.status(), sent: r.request().postDataJSON(), body: await r.json() };
    };
    const maxField = form.getByLabel('Maximum lifespan in days', { exact: true });
    const expiry = form.getByLabel('Tokens must expire', { exact: true });

    // A number field the browser checks: no number at all, not whole, below
    // 1 or over the maximum is refused at the field, and nothing is sent.
    // Typed as a person types them: "ten" leaves "e" in the field, which is
    // no number, so its value reads '' (badInput), and must not pass for
    // blank, no maximum.
    assert.deepEqual(
      await maxField.evaluate((n) => ({ type: n.type, min: n.min, max: n.max, step: n.step, inputMode: n.inputMode, required: n.required })),
      { type: 'number', min: '1', max: '3650', step: '1', inputMode: 'numeric', required: false },
      'the API\'s 1 to 3650 days, blank for no maximum',
    );
    assert.ok((await maxField.getAttribute('aria-describedby')).split(' ').includes('policy-max-error'), 'the field is described by its error');
    await expiry.check();
    let sent = false;
    const onRequest = (q) => {
      if (q.url() === `${BASE}/tenant-policy` && q.method() === 'PUT') sent = true;
    };
    page.on('request', onRequest);
    for (const [typed, reported] of [['ten', 'badInput'], ['1.5', 'stepMismatch'], ['0', 'rangeUnderflow'], ['3651', 'rangeOverflow']]) {
      await maxField.fill('');
      await maxField.pressSequentially(typed);
      const validity = await maxField.evaluate((n, flag) => ({ valid: n.validity.valid, [flag]: n.validity[flag] }), reported);
      assert.deepEqual(validity, { valid: false, [reported]: true }, `${typed}: the browser reports ${reported}`);
      await page.locator('#policy-max-error').evaluate((n) => (n.textContent = '')); // what is said next, this try says
      await maxField.evaluate((n) => n.removeAttribute('aria-invalid'));
      await form.getByRole('button', { name: 'Save policy' }).click();
      await page.locator('#policy-max-error', { hasText: 'Enter a whole number of days from 1 to 3650, or leave it blank for no maximum.' }).waitFor();
      assert.equal(await maxField.getAttribute('aria-invalid'), 'true', `${typed} marked at the field`);
      assert.ok(await maxField.evaluate((n) => n === document.activeElement), 'focus on the field');
      assert.ok(await page.locator('#policy-error').isHidden(), 'said at the field, not under the form');
    }
    page.off('request', onRequest);
    assert.equal(sent, false, 'a refused maximum reached the server');
    await assertContrast('#policy-form');
    await shot('18-token-policy-refused.png');
    await checkState('the token policy refused', '18-token-policy-refused.png');

    // The API decides all the same: its refusal of a maximum (here the
    // field's own max taken off, as a page whose limit is not the API's
    // would have it) is shown at the field too.
    await maxField.evaluate((n) => n.removeAttribute('max'));
    await maxField.fill('3651');
    let r = await save();
    await maxField.evaluate((n) => (n.max = '3650'));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'INVALID_POLICY');
    expectError(400);
    await page.locator('#policy-max-error', { hasText: r.body.error.message }).waitFor();
    assert.equal(await maxField.getAttribute('aria-invalid'), 'true');
    assert.ok(await maxField.evaluate((n) => n === document.activeElement), 'focus on the field');

    // A maximum without "Tokens must expire": at that checkbox.
    await maxField.fill('7');
    await expiry.uncheck();
    r = await save();
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /^requireExpiry /);
    await page.locator('#policy-require-expiry-error', { hasText: r.body.error.message }).waitFor();
    assert.equal(await page.locator('#policy-max-error').innerText(), '', 'the last message is gone');
    assert.ok(await expiry.evaluate((n) => n === document.activeElement));

    // No scope at all: at the group. A blank maximum is sent as none.
    await expiry.check();
    await maxField.fill('');
    for (const b of await boxes.all()) await b.uncheck();
    r = await save();
    assert.equal(r.status, 400);
    assert.deepEqual(r.sent.allowedScopes, []);
    assert.equal(r.sent.maxLifespanDays, null, 'blank: no maximum');
    await page.locator('#policy-scopes-error', { hasText: r.body.error.message }).waitFor();
    assert.ok(await page.locator('#policy-scopes-error').evaluate((n) => n === document.activeElement));
    assert.deepEqual((await call('GET', '/tenant-policy', admin)).body, before, 'nothing changed');

    // Within range: saved, from the version read.
    const narrowed = all.filter((sc) => sc !== 'tokens:write');
    for (const sc of narrowed) await form.getByRole('checkbox', { name: sc, exact: true }).check();
    await maxField.fill('7');
    await form.getByLabel("Only a token's own user, or an administrator, may delete it", { exact: true }).check();
    r = await save();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.sent, { maxLifespanDays: 7, requireExpiry: true, allowedScopes: narrowed, ownerOnlyDelete: true, version: 0 });
    assert.equal(r.body.version, 1);
    await page.locator('#policy-status', { hasText: 'Token policy saved (version 1).' }).waitFor();
    const facts = await factsOf('#policy-summary');
    assert.equal(facts['Maximum lifespan'], '7 days');
    assert.equal(facts['Tokens must expire'], 'Yes');
    assert.equal(facts['Scopes a token may have'], narrowed.join(''));
    assert.equal(facts['Who may delete a token'], 'Its own user, or an administrator');
    assert.equal(facts.Version, '1');
    assert.deepEqual((await call('GET', '/tenant-policy', admin)).body, r.body, 'stored as the page shows it');
    for (const id of ['#policy-max-error', '#policy-require-expiry-error', '#policy-scopes-error']) assert.equal(await page.locator(id).innerText(), '');
    await assertContrast('#policy-page');
    await shot('19-token-policy.png');
    await checkState('the token policy, changed by an administrator', '19-token-policy.png');
  });

  await step('Token policy: a change made elsewhere first is not overwritten: the page says so and shows it', async () => {
    const admin = await session('ivy@initech.example', 'initech', true);
    const mine = (await call('GET', '/tenant-policy', admin)).body;
    const theirs = await call('PUT', '/tenant-policy', admin, { ...mine, maxLifespanDays: 14, version: mine.version });
    assert.equal(theirs.status, 200);
    const form = page.locator('#policy-form');
    await form.getByLabel('Maximum lifespan in days', { exact: true }).fill('3');
    const answer = page.waitForResponse((q) => q.url() === `${BASE}/tenant-policy` && q.request().method() === 'PUT');
    await form.getByRole('button', { name: 'Save policy' }).click();
    const r = await answer;
    assert.equal(r.status(), 409);
    const refused = await r.json();
    assert.equal(refused.error.code, 'POLICY_CHANGED');
    expectError(409);
    const alert = form.getByRole('alert');
    await alert.filter({ hasText: `${refused.error.message} The form now shows it: make your change again.` }).waitFor();
    assert.ok(await alert.evaluate((n) => n === document.activeElement), 'focus on the message');
    assert.equal(await form.getByLabel('Maximum lifespan in days', { exact: true }).inputValue(), '14', 'the form shows the stored policy');
    assert.equal((await factsOf('#policy-summary'))['Maximum lifespan'], '14 days');
    assert.equal((await call('GET', '/tenant-policy', admin)).body.maxLifespanDays, 14, 'the other change stands');
    await checkState('the token policy changed elsewhere first');
    // Back to 7 days, from the version shown.
    await form.getByLabel('Maximum lifespan in days', { exact: true }).fill('7');
    const again = page.waitForResponse((q) => q.url() === `${BASE}/tenant-policy` && q.request().method() === 'PUT');
    await form.getByRole('button', { name: 'Save policy' }).click();
    assert.equal((await again).status(), 200);
    await page.locator('#policy-status', { hasText: 'Token policy saved (version 3).' }).waitFor();
    assert.ok(await form.getByRole('alert').isHidden(), 'the message is gone');
  });

  await step('API Tokens flags a token made before the policy (and offers no rotation for it)', async () => {
    await page.getByRole('navigation', { name: 'Accounts' }).getByRole('link', { name: 'API Tokens' }).click();
    await rowOf(oldToken.id).waitFor();
    const listed = (await call('GET', '/api-tokens', await session('ivy@initech.example', 'initech', true))).body.items.find((t) => t.id === oldToken.id);
    assert.deepEqual(listed.outsidePolicy, ['lifespan of 30 days exceeds the maximum of 7', 'scope tokens:write is not allowed']);
    const said = 'Outside the token policy: lifespan of 30 days exceeds the maximum of 7; scope tokens:write is not allowed.';
    const flag = rowOf(oldToken.id).locator('.outside-policy');
    assert.equal(await flag.innerText(), said, 'each way, in the API\'s words');
    assert.match(await flag.evaluate((n) => getComputedStyle(n, '::before').content), /⚠/, 'with a sign, not by colour alone');
    assert.equal((await cellsOf(oldToken.id))['Token Status'], listed.statusText + said, 'under its status');
    await rowOf(oldToken.id).getByRole('button', { name: /^Actions for token / }).click();
    assert.deepEqual(await page.getByRole('menu').getByRole('menuitem').allInnerTexts(), ['Delete Token'], 'no Rotate Token: the policy refuses its rotation');
    await page.keyboard.press('Escape');
    await assertContrast('body');
    await shot('20-token-outside-policy.png');
    await checkState('a token outside the policy', '20-token-outside-policy.png');
  });

  // The policy now: at most 7 days, expiry required, every scope but
  // tokens:write. A user (not an administrator) adds a token under it.
  const initechPolicy = async () => (await call('GET', '/tenant-policy', await session('uma@initech.example', 'initech'))).body;
  await step('Add Token follows the tenant policy read when it opens: scopes it refuses are cleared and disabled, the lifespan has its maximum and is required', async () => {
    const policy = await initechPolicy();
    const all = await sessionScopes();
    const allowed = all.filter((sc) => sc !== 'tokens:write');
    assert.deepEqual({ max: policy.maxLifespanDays, requireExpiry: policy.requireExpiry, allowedScopes: policy.allowedScopes }, { max: 7, requireExpiry: true, allowedScopes: allowed });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('E-mail', { exact: true }).fill('uma@initech.example');
    await page.getByLabel('Tenant', { exact: true }).fill('initech');
    await page.getByLabel('Tenant administrator', { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#account-name', { hasText: 'uma@initech.example · initech' }).waitFor();
    assert.equal(await page.locator('#account-name').innerText(), 'uma@initech.example · initech', 'a user, not an administrator');
    await page.getByRole('navigation', { name: 'Accounts' }).getByRole('link', { name: 'API Tokens' }).click();
    await page.getByRole('heading', { name: 'API Tokens', level: 1 }).waitFor();
    const read = page.waitForResponse((r) => r.url() === `${BASE}/tenant-policy` && r.request().method() === 'GET');
    await page.getByRole('button', { name: 'Add Token' }).click();
    assert.equal((await read).status(), 200, 'the dialog reads the policy as it opens');
    const dialog = addDialog();
    await dialog.waitFor({ state: 'visible' });
    const group = dialog.getByRole('group', { name: 'Scopes' });
    assert.deepEqual(
      await group.getByRole('checkbox').evaluateAll((bs) => bs.map((b) => [b.value, b.checked, b.disabled])),
      all.map((sc) => (sc === 'tokens:write' ? [sc, false, true] : [sc, true, false])),
      'the scope the policy refuses is cleared and disabled; the others offered, checked',
    );
    const note = page.locator('#token-scopes-policy');
    assert.equal(await note.innerText(), 'The tenant policy does not allow tokens:write.', 'said in words, not by colour alone');
    assert.ok(await note.isVisible());
    assert.ok((await page.locator('#token-scopes').getAttribute('aria-describedby')).split(' ').includes('token-scopes-policy'), 'the group is described by the note');
    const life = dialog.getByLabel('Lifespan (days)', { exact: true });
    assert.equal(await life.getAttribute('max'), '7', 'the policy\'s maximum, which the number field checks');
    assert.equal(await life.evaluate((n) => n.required), true, 'required: tokens must expire');
    const hint = await page.locator('#token-lifespan-hint').innerText();
    assert.match(hint, /At most 7 days \(tenant policy\)\./);
    assert.match(hint, /Required: tokens must expire \(tenant policy\)\./);
    assert.doesNotMatch(hint, /never expires/);
    assert.equal(await page.locator('#add-token-intro').innerText(), 'Description is optional.');
    await assertContrast('#add-token-dialog');
    await checkState('Add Token under the tenant policy');

    // Over the maximum, and blank while required: refused at the field.
    let posted = false;
    const onRequest = (q) => {
      if (q.method() === 'POST' && q.url() === `${BASE}/api-tokens`) posted = true;
    };
    page.on('request', onRequest);
    await dialog.getByLabel('Description', { exact: true }).fill('weekly report');
    // The browser's constraint validation reports each: blank while
    // required, over the policy's maximum, not a whole number of days.
    const overMax = 'Lifespan (days) must be a whole number from 1 to 7: the tenant policy allows at most 7 days.';
    for (const [value, reported, said] of [
      ['', 'valueMissing', 'Lifespan (days) is required: the tenant policy says tokens must expire.'],
      ['90', 'rangeOverflow', overMax],
      ['2.5', 'stepMismatch', overMax],
      ['8', 'rangeOverflow', overMax], // last: what the screenshot shows
    ]) {
      await life.fill(value);
      const validity = await life.evaluate((n, flag) => ({ valid: n.validity.valid, [flag]: n.validity[flag] }), reported);
      assert.deepEqual(validity, { valid: false, [reported]: true }, `${JSON.stringify(value)}: the browser reports ${reported}`);
      await page.locator('#token-lifespan-error').evaluate((n) => (n.textContent = '')); // what is said next, this try says
      await dialog.getByRole('button', { name: 'Generate Token' }).click();
      await dialog.getByRole('alert').filter({ hasText: said }).waitFor();
      assert.equal(await page.locator('#token-lifespan-error').innerText(), said, 'said at the field');
      assert.equal(await life.getAttribute('aria-invalid'), 'true', `${JSON.stringify(value)} marked at the field`);
      assert.ok(await life.evaluate((n) => n === document.activeElement), 'focus on the field');
    }
    page.off('request', onRequest);
    assert.equal(posted, false, 'a lifespan outside the policy reached the server');
    await assertContrast('#add-token-dialog');
    await shot('22-add-token-policy.png');
    await checkState('Add Token refused at the lifespan under the tenant policy', '22-add-token-policy.png');

    // Within the policy: made, with the allowed scopes sent (all would be refused).
    await life.fill('7');
    const answer = page.waitForResponse((r) => r.url() === `${BASE}/api-tokens` && r.request().method() === 'POST');
    await dialog.getByRole('button', { name: 'Generate Token' }).click();
    const r = await answer;
    const made = await r.json();
    assert.equal(r.status(), 201, JSON.stringify(made));
    assert.deepEqual(r.request().postDataJSON(), { description: 'weekly report', lifespanDays: 7, scopes: allowed });
    assert.deepEqual(made.scopes, allowed);
    assert.ok(await dialog.getByRole('alert').isHidden(), 'the message is gone');
    await copyAndClose(dialog, made.token);
    await rowOf(made.id).waitFor();
    assert.equal((await call('GET', '/whoami', made.token)).status, 200, 'the token works');
  });

  await step('Add Token under a policy changed after the dialog opened: the API refuses, and the dialog says so', async () => {
    const admin = await session('ivy@initech.example', 'initech', true);
    await page.getByRole('button', { name: 'Add Token' }).click();
    await addDialog().waitFor({ state: 'visible' });
    const now = (await call('GET', '/tenant-policy', admin)).body;
    assert.equal((await call('PUT', '/tenant-policy', admin, { ...now, maxLifespanDays: 3 })).status, 200);
    await page.getByLabel('Description', { exact: true }).fill('quarterly export');
    await page.getByLabel('Lifespan (days)', { exact: true }).fill('5'); // within the 7 days the dialog read
    const answer = page.waitForResponse((r) => r.url() === `${BASE}/api-tokens` && r.request().method() === 'POST');
    await page.getByRole('button', { name: 'Generate Token' }).click();
    const r = await answer;
    const refused = await r.json();
    assert.equal(r.status(), 400);
    assert.equal(refused.error.code, 'POLICY_VIOLATION');
    assert.match(refused.error.message, /maximum of 3/);
    expectError(400);
    await addDialog().getByRole('alert').filter({ hasText: refused.error.message }).waitFor();
    await addDialog().getByRole('button', { name: 'Close', exact: true }).last().click();
    await addDialog().waitFor({ state: 'hidden' });
  });

  await step('Add Token when the policy cannot be read: offered as without one, and the API still decides', async () => {
    await page.route(`${BASE}/tenant-policy`, (route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"code":"UNAVAILABLE","message":"down"}}' }));
    expectError(503);
    try {
      await page.getByRole('button', { name: 'Add Token' }).click();
      await addDialog().waitFor({ state: 'visible' });
    } finally {
      await page.unroute(`${BASE}/tenant-policy`);
    }
    const all = await sessionScopes();
    const group = addDialog().getByRole('group', { name: 'Scopes' });
    assert.deepEqual(await group.getByRole('checkbox').evaluateAll((bs) => bs.map((b) => [b.value, b.checked, b.disabled])), all.map((sc) => [sc, true, false]), 'every scope, checked, none disabled');
    assert.equal(await page.locator('#token-scopes-policy').innerText(), '');
    const life = page.getByLabel('Lifespan (days)', { exact: true });
    assert.equal(await life.getAttribute('max'), '3650', 'the API\'s own maximum');
    assert.equal(await life.evaluate((n) => n.required), false);
    assert.equal(await page.locator('#token-lifespan-hint').innerText(), 'A whole number of days, 1 or more. Blank: the token never expires.');
    const created = await (async () => {
      const answer = page.waitForResponse((r) => r.url() === `${BASE}/api-tokens` && r.request().method() === 'POST');
      await page.getByRole('button', { name: 'Generate Token' }).click();
      return answer;
    })();
    assert.equal(created.status(), 400, 'no lifespan and every scope: the API refuses it');
    assert.deepEqual(created.request().postDataJSON(), {}, 'every scope: scopes left out, as without a policy');
    assert.equal((await created.json()).error.code, 'POLICY_VIOLATION');
    await addDialog().getByRole('button', { name: 'Close', exact: true }).last().click();
    await addDialog().waitFor({ state: 'hidden' });
  });

  await step('the token policy goes back to the default, so that nothing after is under it', async () => {
    const admin = await session('ivy@initech.example', 'initech', true);
    const now = (await call('GET', '/tenant-policy', admin)).body;
    const all = await sessionScopes();
    const reset = await call('PUT', '/tenant-policy', admin, { maxLifespanDays: null, requireExpiry: false, allowedScopes: all, ownerOnlyDelete: false, version: now.version });
    assert.equal(reset.status, 200, JSON.stringify(reset.body));
    const back = (await call('GET', '/tenant-policy', admin)).body;
    assert.deepEqual({ ...back, version: 0 }, { maxLifespanDays: null, requireExpiry: false, allowedScopes: all, ownerOnlyDelete: false, version: 0 });
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
