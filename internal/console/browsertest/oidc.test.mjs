// Drives the console in its AWS mode ("oidc") in Debian's headless
// Chromium: sign-in through a stand-in hosted UI on another origin
// (authorization code with PKCE), the session in the tab only, the code out
// of the address bar, a shared link kept through the sign-in (and a saved
// route not the console's own refused), a forged callback refused, and
// sign-out through the provider. Run it through
// `go test ./internal/console/browsertest`.
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.BASE_URL;
const IDP = process.env.IDP_URL;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.SCREENSHOT_DIR;
const loopback = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/;
if (!loopback.test(BASE || '') || !loopback.test(IDP || '') || !SHOTS) {
  console.error('BASE_URL and IDP_URL (on loopback) and SCREENSHOT_DIR must be set: run this through `go test ./internal/console/browsertest`.');
  process.exit(2);
}

let stepNo = 0;
let page;
const consoleErrors = [];
class Failed extends Error {}

async function step(name, fn) {
  stepNo += 1;
  const started = Date.now();
  try {
    await fn();
  } catch (err) {
    console.log(`not ok ${stepNo} - ${name}`);
    console.log(String(err && err.stack ? err.stack : err));
    if (consoleErrors.length) console.log('browser console errors so far:\n  ' + consoleErrors.join('\n  '));
    await page.screenshot({ path: path.join(SHOTS, 'oidc-failure.png'), fullPage: true }).catch(() => {});
    throw new Failed();
  }
  console.log(`ok ${stepNo} - ${name} (${Date.now() - started} ms)`);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
page = await context.newPage();
page.setDefaultTimeout(10_000);
page.on('console', (msg) => {
  if (msg.type() === 'error') consoleErrors.push(`${msg.text()} [${msg.location().url}]`);
});
page.on('pageerror', (err) => consoleErrors.push(`uncaught: ${err.message}`));
const visited = [];
page.on('request', (req) => {
  if (req.isNavigationRequest()) visited.push(req.url()); // redirects included
});

let exitCode = 0;
try {
  await step('the AWS console offers sign-in with the organisation account; its CSP allows only the token endpoint besides itself', async () => {
    const resp = await page.goto(BASE + '/');
    const csp = resp.headers()['content-security-policy'];
    assert.match(csp, new RegExp(`connect-src 'self' ${IDP.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')};`));
    await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
    assert.ok(await page.locator('#local-signin').isHidden(), 'no local form in AWS mode');
    await page.screenshot({ path: path.join(SHOTS, '09-oidc-sign-in.png'), fullPage: true });
  });

  await step('Sign in: to the provider with PKCE, back with a code, exchanged for the ID token; the code leaves the address bar', async () => {
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API Tokens' }).waitFor();
    await page.locator('#account-name', { hasText: 'ada@acme.example · acme' }).waitFor(); // /whoami accepted the ID token
    const authorize = visited.find((u) => u.startsWith(IDP + '/oauth2/authorize'));
    assert.ok(authorize, `the browser went to the provider (visited ${visited.join(', ')})`);
    const q = new URL(authorize).searchParams;
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.ok(visited.some((u) => u.startsWith(BASE + '/auth/callback?code=')), 'the provider sent the browser back to /auth/callback');
    const now = new URL(page.url());
    assert.equal(now.pathname + now.search, '/', 'no code or state left in the URL');
    assert.equal(now.hash, '#/accounts/api-tokens');
    const stored = await page.evaluate(() => ({ session: sessionStorage.getItem('dcs-access.session'), pending: sessionStorage.getItem('dcs-access.signin'), local: localStorage.length }));
    assert.ok(stored.session && stored.session.split('.').length === 3, 'the ID token is the tab\'s session');
    assert.equal(stored.pending, null, 'the PKCE verifier is forgotten once used');
    assert.equal(stored.local, 0);
  });

  await step('the ID token works for the API: a token is created and listed', async () => {
    await page.getByRole('button', { name: 'Add Token' }).click();
    await page.getByLabel('Description', { exact: true }).fill('from aws mode');
    await page.getByRole('button', { name: 'Generate Token' }).click();
    await page.locator('#token-result').waitFor();
    await page.getByRole('button', { name: 'Close', exact: true }).last().click();
    await page.getByRole('button', { name: 'Close without copying' }).click(); // the token was not copied: the dialog asks first
    await page.locator('#add-token-dialog').waitFor({ state: 'hidden' });
    await page.locator('#tokens-body td.description', { hasText: 'from aws mode' }).waitFor();
  });

  await step('Sign out: the tab forgets the session and the provider signs out too', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.href.startsWith(BASE + '/') && visited.some((v) => v.startsWith(IDP + '/logout')));
    await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('dcs-access.session')), null);
  });

  await step('a shared link opened signed out is where the sign-in lands: the Audit page with the link\'s filter, asked of the API', async () => {
    const link = '#/audit?action=api-token.created';
    visited.length = 0;
    await page.goto(BASE + '/' + link);
    await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
    const asked = [];
    const onRequest = (q) => {
      if (q.url().startsWith(BASE + '/audit-events?')) asked.push(new URL(q.url()).searchParams.get('action'));
    };
    page.on('request', onRequest);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Audit trail', level: 1 }).waitFor();
    assert.ok(visited.some((u) => u.startsWith(IDP + '/oauth2/authorize')), `through the provider (visited ${visited.join(', ')})`);
    const now = new URL(page.url());
    assert.equal(now.pathname + now.search + now.hash, '/' + link, 'the link, without the code');
    assert.equal(await page.locator('#audit-action').inputValue(), 'api-token.created');
    await page.locator('#audit-body', { hasText: 'from aws mode' }).waitFor();
    page.off('request', onRequest);
    assert.deepEqual(asked, ['api-token.created'], 'the API is asked for the link\'s filter, once');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('dcs-access.signin')), null, 'the sign-in state is forgotten once used');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
  });

  await step('a saved route that is not one of the console\'s own lands on the default route, never elsewhere', async () => {
    // The provider's answer is held once (a redirect is not routed, so it
    // is the request to the provider that is), so that the sign-in state
    // the tab saved can be read and changed, on the console's origin,
    // before the callback.
    const isAuthorize = (u) => u.href.startsWith(IDP + '/oauth2/authorize');
    for (const bogus of ['//evil.example/#/audit', 'https://evil.example/#/audit']) {
      await page.goto(BASE + '/#/audit');
      await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
      let callback = '';
      await page.route(isAuthorize, async (r) => {
        const answer = await r.fetch({ maxRedirects: 0 });
        callback = answer.headers().location;
        await r.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>held</title><link rel="icon" href="data:,">' });
      }, { times: 1 });
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(isAuthorize);
      assert.ok(callback.startsWith(BASE + '/auth/callback?code='), `the provider answered with the callback (${callback})`);
      await page.goBack(); // the console's origin, this tab's sessionStorage
      await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
      const saved = await page.evaluate((route) => {
        const pending = JSON.parse(sessionStorage.getItem('dcs-access.signin'));
        sessionStorage.setItem('dcs-access.signin', JSON.stringify({ ...pending, route }));
        return pending.route;
      }, bogus);
      assert.equal(saved, '#/audit', 'the route is kept with the sign-in state');
      await page.goto(callback);
      await page.getByRole('heading', { name: 'API Tokens', level: 1 }).waitFor();
      const now = new URL(page.url());
      assert.equal(now.origin + now.pathname + now.search + now.hash, BASE + '/#/accounts/api-tokens', `${bogus}: the default route`);
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in to DCS' }).waitFor();
    }
  });

  await step('a callback this tab did not start (forged state) is refused', async () => {
    await page.goto(BASE + '/auth/callback?code=stolen&state=forged');
    await page.locator('#signin-message', { hasText: 'did not complete' }).waitFor();
    assert.equal(new URL(page.url()).search, '', 'the code left the address bar');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('dcs-access.session')), null);
  });

  await step('no console errors', async () => {
    assert.deepEqual(consoleErrors, []);
  });
  console.log('all steps passed');
} catch (err) {
  exitCode = 1;
  if (!(err instanceof Failed)) console.log(String(err && err.stack ? err.stack : err));
} finally {
  await browser.close().catch(() => {});
}
process.exit(exitCode);
