// The DCS console: Accounts → API Tokens (add, rotate and delete tokens)
// and Token policy, Sandbox refreshes with its plan form and the plan's
// pipeline secrets, and the Audit trail.
// Plain DOM code, no framework. Every text the page shows from the API is
// set with textContent (the Content-Security-Policy requires Trusted Types,
// so an HTML string sink would throw), and nothing is fetched from anywhere
// but the API and, in AWS, the OIDC token endpoint.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------------------
  // Session
  //
  // The session (the OIDC ID token in AWS, the local session JWT under make
  // run) lives in sessionStorage: it belongs to this tab alone, and ends when
  // the tab closes. Memory alone would be lost on every reload and cannot
  // survive the sign-in redirect; local storage would be shared by every tab
  // and outlive them. It is never put in a URL. The strict CSP (no inline or
  // foreign script, Trusted Types) is what keeps other code from reading it.
  // ---------------------------------------------------------------------------
  const SESSION_KEY = 'dcs-access.session';
  const SIGNIN_KEY = 'dcs-access.signin'; // PKCE verifier, state, nonce and the route to return to, during the redirect

  const state = {
    config: null,
    session: null,
    who: null, // {user, tenant, scopes, admin}: GET /whoami of the session, which has every scope
    sessionTimer: 0,
    route: '',
    tokens: { pageStarts: [''], page: 0, next: '' },
    audit: { pageStarts: [''], page: 0, next: '', query: {} }, // query: the filters the pages are of, as the API takes them
    created: null, // {id, description} of the token just generated, while the Add Token dialog is open
    rotating: null, // the token row whose Rotate Token dialog is open, and what the rotation made
    deleting: null, // the token row whose Delete Token dialog is open
    policy: null, // the tenant policy as GET /tenant-policy answered it, on the Token policy page
    addPolicy: null, // the tenant policy read when the Add Token dialog opened, or null when that read failed
    flash: '', // what the next page's status line says first ("Plan uat1 saved.")
    plan: null, // the plan page: {sandbox}, '' for a new plan
    // activeUntil: right after a start or a redrive the run may still read
    // as it was a moment ago, so it is followed for a while whatever it says.
    // watched: the run the status line speaks of ("Run … started."), until
    // the line says how it ended.
    runs: { selected: '', pollTimer: 0, listTimer: 0, activeUntil: 0, watched: null },
    at: '', // the history entry the page shows (historyAt), so that a popstate and hashchange pair is one move
  };

  const PAGE_SIZE = 20;
  const POLL_MS = 5000; // each look at a run reads its execution history: keep it gentle

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function decodeClaims(jwt) {
    try {
      const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      const text = atob(part + '='.repeat((4 - (part.length % 4)) % 4));
      const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      return null;
    }
  }

  function storeSession(jwt) {
    state.session = jwt;
    sessionStorage.setItem(SESSION_KEY, jwt);
    armSessionTimer();
  }

  function armSessionTimer() {
    clearTimeout(state.sessionTimer);
    const claims = decodeClaims(state.session);
    if (claims && typeof claims.exp === 'number') {
      const ms = claims.exp * 1000 - Date.now();
      if (ms <= 0) {
        endSession('Your session has ended. Sign in again.');
        return;
      }
      state.sessionTimer = setTimeout(() => endSession('Your session has ended. Sign in again.'), Math.min(ms, 2 ** 31 - 1));
    }
  }

  // endSession forgets the tab's session and shows the sign-in page.
  function endSession(message) {
    clearTimeout(state.sessionTimer);
    stopPolling();
    state.session = null;
    state.who = null;
    sessionStorage.removeItem(SESSION_KEY);
    for (const d of [$('add-token-dialog'), $('rotate-token-dialog'), $('delete-token-dialog')]) {
      if (d.open) d.close();
    }
    forgetPages();
    showSignIn(message || '');
  }

  // forgetPages drops everything the pages showed, so the next user of the
  // tab starts from nothing.
  function forgetPages() {
    state.tokens = { pageStarts: [''], page: 0, next: '' };
    state.runs = { selected: '', pollTimer: 0, listTimer: 0, activeUntil: 0, watched: null };
    for (const id of ['tokens-body', 'plans-body', 'runs-body', 'timeline']) $(id).replaceChildren();
    for (const id of ['tokens-status', 'refreshes-status', 'copy-status']) announce($(id), '');
    for (const id of ['account-name', 'run-title', 'run-status', 'run-error', 'run-polling']) $(id).textContent = '';
    for (const id of ['run-detail', 'tokens-empty', 'tokens-expiring', 'plans-empty', 'runs-empty', 'tokens-pager', 'plan-form']) show($(id), false);
    $('plan-form').reset();
    $('plan-users').replaceChildren();
    show($('plan-secrets'), false);
    resetSecrets();
    state.plan = null;
    state.flash = '';
    resetAudit();
    resetPolicyPage();
  }

  // ---------------------------------------------------------------------------
  // API
  // ---------------------------------------------------------------------------
  async function api(method, path, body, extraHeaders) {
    return (await apiResponse(method, path, body, extraHeaders)).data;
  }

  // apiResponse is api with the answer's status: {status, data}.
  async function apiResponse(method, path, body, extraHeaders) {
    if (!state.session) throw new ApiError(401, 'UNAUTHORIZED', 'Sign in first.');
    const headers = Object.assign({ Authorization: 'Bearer ' + state.session }, extraHeaders || {});
    const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch {
      throw new ApiError(0, 'NETWORK', 'The server cannot be reached. Check your connection and try again.');
    }
    let data = null;
    const text = await resp.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (resp.status === 401) {
      endSession('Your session has ended. Sign in again.');
      throw new ApiError(401, 'UNAUTHORIZED', 'Your session has ended.');
    }
    if (!resp.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(resp.status, err.code || 'HTTP_' + resp.status, err.message || 'The request failed (HTTP ' + resp.status + '). Try again.');
    }
    return { status: resp.status, data };
  }

  // ---------------------------------------------------------------------------
  // Small DOM helpers
  // ---------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c);
    }
    return node;
  }

  function show(node, on) {
    node.hidden = !on;
  }

  // labelCells names each cell of table's body after its column (the
  // header's text), which narrow screens show above the cell, where the
  // table turns into a stack of rows. The row's buttons need no name.
  function labelCells(table) {
    const heads = Array.from(table.tHead.rows[0].cells).map((th) => th.textContent.trim());
    for (const tr of table.tBodies[0].rows) {
      Array.from(tr.cells).forEach((cell, i) => {
        if (heads[i] && !cell.classList.contains('actions')) cell.dataset.label = heads[i];
      });
    }
  }

  function setError(node, message) {
    node.textContent = message || '';
    if (node.classList.contains('alert')) show(node, Boolean(message));
  }

  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n) => String(n).padStart(2, '0');

  // "Dec 27, 2026 11:12" in the browser's local time, as DCS shows it.
  function formatMinute(d) {
    return `${MONTHS[d.getMonth()]} ${pad(d.getDate())}, ${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function formatSecond(iso) {
    if (!iso) return '—';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '—';
    return `${formatMinute(d)}:${pad(d.getSeconds())}`;
  }

  // announce puts a message in a polite live region: emptied first, then
  // set a moment later, which is what screen readers reliably announce.
  const announcing = new Map();
  function announce(node, message) {
    clearTimeout(announcing.get(node));
    node.textContent = '';
    if (message) announcing.set(node, setTimeout(() => (node.textContent = message), 50));
  }

  // ---------------------------------------------------------------------------
  // Dialogs: native <dialog> shown modal (the rest of the page is inert),
  // with Tab kept inside and Escape closing it.
  // ---------------------------------------------------------------------------
  function focusables(root) {
    return Array.from(root.querySelectorAll('button, input, textarea, select, a[href], [tabindex]:not([tabindex="-1"])')).filter(
      (n) => !n.disabled && !n.closest('[hidden]') && n.getClientRects().length > 0,
    );
  }

  function trapFocus(dialog) {
    dialog.addEventListener('keydown', (e) => {
      if (e.key !== 'Tab') return;
      const list = focusables(dialog);
      if (list.length === 0) return;
      const first = list[0];
      const last = list[list.length - 1];
      if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
        e.preventDefault();
        first.focus();
      }
    });
  }

  // ---------------------------------------------------------------------------
  // Routing (hash routes, so the page is one document under any base path).
  // The Audit page's route may carry its filters as a query after it
  // (#/audit?action=…): see "Audit trail" below.
  // ---------------------------------------------------------------------------
  const AUDIT_ROUTE = '#/audit';
  const ROUTES = {
    '#/accounts/api-tokens': { page: 'tokens-page', nav: 'accounts', title: 'API Tokens', enter: enterTokens },
    [AUDIT_ROUTE]: { page: 'audit-page', nav: 'audit', title: 'Audit trail', enter: enterAudit },
    '#/accounts/token-policy': { page: 'policy-page', nav: 'accounts', title: 'Token policy', enter: enterPolicy },
    '#/sandbox-refreshes': { page: 'refreshes-page', nav: 'refreshes', title: 'Sandbox refreshes', enter: enterRefreshes },
    '#/sandbox-refreshes/new-plan': { page: 'plan-page', nav: 'refreshes', title: 'New refresh plan', enter: () => enterPlan('') },
  };
  const DEFAULT_ROUTE = '#/accounts/api-tokens';
  const PLAN_ROUTE = '#/sandbox-refreshes/plans/';

  function planRoute(sandbox) {
    return PLAN_ROUTE + encodeURIComponent(sandbox);
  }

  // routePath is hash without its query: "#/audit?action=x" → "#/audit".
  function routePath(hash) {
    const q = hash.indexOf('?');
    return q < 0 ? hash : hash.slice(0, q);
  }

  // historyAt names the history entry shown: its address and its state.
  const historyAt = () => location.href + '\n' + JSON.stringify(history.state);

  // findRoute is the route of hash: one of ROUTES, or a plan's page. Only
  // the Audit page takes a query.
  function findRoute(hash) {
    const path = routePath(hash);
    if (path !== hash) return path === AUDIT_ROUTE ? ROUTES[AUDIT_ROUTE] : null;
    if (ROUTES[hash]) return ROUTES[hash];
    const rest = hash.startsWith(PLAN_ROUTE) ? hash.slice(PLAN_ROUTE.length) : '';
    if (!rest || rest.includes('/')) return null;
    let sandbox;
    try {
      sandbox = decodeURIComponent(rest);
    } catch {
      return null;
    }
    return { page: 'plan-page', nav: 'refreshes', title: 'Edit plan ' + sandbox, enter: () => enterPlan(sandbox) };
  }

  function route(moveFocus) {
    if (!state.session) return;
    let hash = location.hash;
    if (!findRoute(hash)) {
      if (hash === '' || hash.startsWith('#/')) {
        // An unknown or missing route shows the API Tokens page.
        history.replaceState(null, '', location.pathname + location.search + DEFAULT_ROUTE);
        hash = DEFAULT_ROUTE;
      } else {
        hash = state.route || DEFAULT_ROUTE; // an in-page anchor: stay where we are
      }
    }
    const r = findRoute(hash);
    const path = routePath(hash);
    const changed = state.route !== path;
    state.route = path;
    stopPolling();
    for (const { page } of Object.values(ROUTES)) show($(page), page === r.page);
    show($('signin-page'), false);
    show($('main-nav'), true);
    show($('account'), true);
    for (const a of $('main-nav').querySelectorAll('a')) {
      if (a.dataset.route === r.nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    for (const a of document.querySelectorAll('.subnav a')) {
      if (a.getAttribute('href') === path) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = r.title + ' · DCS';
    r.enter(); // first: it may name the page's heading
    state.at = historyAt(); // after enter, which may have tidied the address
    if (moveFocus && changed) $(r.page).querySelector('h1').focus();
  }

  // onHistory follows Back, Forward and a changed hash. A move to another
  // hash fires both popstate and hashchange; one between entries of the
  // same address (the Audit page's pages) popstate alone; pushState and
  // replaceState fire neither (MDN, History.pushState()). Each move is
  // routed once.
  function onHistory() {
    if (historyAt() !== state.at) route(true);
  }

  // ---------------------------------------------------------------------------
  // Sign-in
  // ---------------------------------------------------------------------------
  function showSignIn(message) {
    for (const { page } of Object.values(ROUTES)) show($(page), false);
    show($('main-nav'), false);
    show($('account'), false);
    show($('signin-page'), true);
    $('signin-message').textContent = message || '';
    show($('signin-message'), Boolean(message));
    const local = state.config && state.config.mode === 'local';
    show($('local-signin'), local);
    show($('oidc-signin'), !local);
    document.title = 'Sign in · DCS';
    state.route = '';
    if (local) $('signin-email').focus();
    else $('oidc-signin-button').focus();
  }

  async function startSession(jwt) {
    storeSession(jwt);
    let who;
    try {
      who = await api('GET', 'whoami');
    } catch (e) {
      if (e.status !== 401) endSession(e.message);
      return false;
    }
    state.who = { user: who.user, tenant: who.tenant, scopes: who.scopes || [], admin: who.admin === true };
    $('account-name').textContent = `${who.user} · ${who.tenant}` + (state.who.admin ? ' · administrator' : '');
    return true;
  }

  async function localSignIn(e) {
    e.preventDefault();
    const email = $('signin-email').value.trim();
    const tenant = $('signin-tenant').value.trim();
    const error = $('signin-error');
    error.textContent = '';
    $('signin-email').removeAttribute('aria-invalid');
    $('signin-tenant').removeAttribute('aria-invalid');
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) {
      $('signin-email').setAttribute('aria-invalid', 'true');
      error.textContent = 'Enter your e-mail address, such as ada@example.com.';
      $('signin-email').focus();
      return;
    }
    if (!tenant) {
      $('signin-tenant').setAttribute('aria-invalid', 'true');
      error.textContent = 'Enter your tenant, such as acme.';
      $('signin-tenant').focus();
      return;
    }
    let resp;
    try {
      resp = await fetch('local/sessions', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, tenant, admin: $('signin-admin').checked }),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      error.textContent = 'The server cannot be reached. Is make run still running?';
      return;
    }
    const data = await resp.json().catch(() => null);
    if (!resp.ok || !data || !data.token) {
      error.textContent = (data && data.error && data.error.message) || 'Sign-in failed (HTTP ' + resp.status + ').';
      return;
    }
    if (await startSession(data.token)) route(true);
  }

  function b64url(bytes) {
    let s = '';
    for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function randomString() {
    return b64url(crypto.getRandomValues(new Uint8Array(32)));
  }

  function redirectURI() {
    const c = state.config;
    return c.origin ? c.origin + '/auth/callback' : new URL('auth/callback', document.baseURI).href;
  }

  function consoleHome() {
    const c = state.config;
    return c.origin ? c.origin + '/' : new URL('./', document.baseURI).href;
  }

  async function oidcSignIn() {
    const c = state.config;
    if (c.origin && location.origin !== c.origin) {
      setError($('oidc-error'), `Sign in from the console's own address, ${c.origin}.`);
      return;
    }
    const verifier = randomString();
    const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
    // route: the page the sign-in started from (a shared link's), which the
    // provider's redirect cannot carry: redirect_uri is fixed, and state is
    // only a check.
    const pending = { verifier, state: randomString(), nonce: randomString(), redirectUri: redirectURI(), route: location.hash };
    sessionStorage.setItem(SIGNIN_KEY, JSON.stringify(pending));
    const u = new URL(c.authorizationEndpoint);
    u.search = new URLSearchParams({
      response_type: 'code',
      client_id: c.clientId,
      redirect_uri: pending.redirectUri,
      scope: c.scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    location.assign(u.href);
  }

  // returnRoute is the route a sign-in started from, when the router knows
  // it (findRoute), else the default: only one of the console's own hash
  // routes, so that what sessionStorage holds can never send the tab to
  // another address.
  function returnRoute(pending) {
    const hash = pending && pending.route;
    return typeof hash === 'string' && findRoute(hash) ? hash : DEFAULT_ROUTE;
  }

  // oidcCallback finishes a sign-in on the redirect target: the code is
  // exchanged for the ID token (with the PKCE verifier), and the address bar
  // loses the code at once, for the route the sign-in started from.
  async function oidcCallback() {
    const params = new URLSearchParams(location.search);
    let pending = null;
    try {
      pending = JSON.parse(sessionStorage.getItem(SIGNIN_KEY) || 'null');
    } catch {
      // not what oidcSignIn wrote: as if this tab started no sign-in
    }
    sessionStorage.removeItem(SIGNIN_KEY);
    history.replaceState(null, '', new URL('./', document.baseURI).pathname + returnRoute(pending));
    if (params.get('error')) {
      return 'Sign-in did not complete: ' + (params.get('error_description') || params.get('error')) + '.';
    }
    if (!pending || !params.get('code') || params.get('state') !== pending.state) {
      return 'Sign-in did not complete (this tab did not start it). Sign in again.';
    }
    let resp;
    try {
      resp = await fetch(state.config.tokenEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          client_id: state.config.clientId,
          code: params.get('code'),
          redirect_uri: pending.redirectUri,
          code_verifier: pending.verifier,
        }).toString(),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      return 'The sign-in service cannot be reached. Try again.';
    }
    const data = await resp.json().catch(() => null);
    if (!resp.ok || !data || !data.id_token) {
      return 'Sign-in failed: ' + ((data && (data.error_description || data.error)) || 'HTTP ' + resp.status) + '.';
    }
    const claims = decodeClaims(data.id_token);
    if (!claims || claims.nonce !== pending.nonce) {
      return 'Sign-in failed: the identity token does not belong to this sign-in.';
    }
    if (!(await startSession(data.id_token))) return null;
    return '';
  }

  function signOut() {
    const logout = state.config.mode === 'oidc' && state.config.logoutEndpoint;
    endSession('You signed out.');
    if (logout) {
      const u = new URL(state.config.logoutEndpoint);
      u.search = new URLSearchParams({ client_id: state.config.clientId, logout_uri: consoleHome() }).toString();
      location.assign(u.href);
    }
  }

  // ---------------------------------------------------------------------------
  // API Tokens page
  // ---------------------------------------------------------------------------
  function enterTokens() {
    announce($('tokens-status'), ''); // what it said was about the last visit
    state.tokens = { pageStarts: [''], page: 0, next: '' };
    loadTokens();
  }

  async function loadTokens() {
    const t = state.tokens;
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (t.pageStarts[t.page]) q.set('nextToken', t.pageStarts[t.page]);
    let data;
    try {
      data = await api('GET', 'api-tokens?' + q.toString());
    } catch (e) {
      if (e.status !== 401) announce($('tokens-status'), 'The tokens could not be loaded: ' + e.message);
      return;
    }
    if (state.route !== '#/accounts/api-tokens') return;
    const items = data.items || [];
    if (items.length === 0 && t.page > 0) {
      // The last page emptied (its tokens were deleted): show the one before.
      t.page -= 1;
      loadTokens();
      return;
    }
    t.next = data.nextToken || '';
    renderTokens(items);
  }

  function renderTokens(items) {
    const body = $('tokens-body');
    closeMenus();
    body.replaceChildren(
      ...items.map((t) => {
        const menuId = 'menu-' + t.id;
        const trigger = el('button', {
          type: 'button',
          class: 'icon-button menu-trigger',
          'aria-haspopup': 'menu',
          'aria-expanded': 'false',
          'aria-controls': menuId,
          'aria-label': 'Actions for token ' + t.description,
          text: '⋯',
        });
        const item = (text, open, danger) => {
          const b = el('button', { type: 'button', role: 'menuitem', class: 'menu-item' + (danger ? ' danger' : ''), tabindex: '-1', text });
          b.addEventListener('click', () => {
            closeMenus();
            open(t, trigger);
          });
          return el('li', { role: 'none' }, b);
        };
        // A replaced or expired token has nothing left to rotate: its status
        // says so. Nor has one outside the policy: its rotation would be too.
        const rotatable = t.status === 'Enabled' && !t.replacedBy && !t.outsidePolicy;
        const menu = el(
          'ul',
          { id: menuId, role: 'menu', class: 'menu', popover: 'manual', 'aria-label': 'Actions for token ' + t.description },
          rotatable ? item('Rotate Token', openRotateDialog) : null,
          item('Delete Token', openDeleteDialog, true),
        );
        wireMenu(trigger, menu);
        return el(
          'tr',
          { 'data-token-id': t.id },
          el('td', { class: 'description', text: t.description }),
          // The API's words, in UTC ("Enabled - Expires in 3 days (…)"): it
          // owns the wording and the counting of days.
          el('td', {}, expiresSoon(t) ? el('span', { class: 'status-soon', text: t.statusText }) : t.statusText, outsidePolicy(t)),
          el('td', { text: t.associatedUser }),
          scopesCell(t.scopes || []),
          el('td', { text: t.lastUsedText }),
          el('td', { class: 'actions' }, el('div', { class: 'menu-wrap' }, trigger, menu)),
        );
      }),
    );
    labelCells($('tokens-table'));
    const t = state.tokens;
    show($('tokens-table'), items.length > 0);
    show($('tokens-empty'), items.length === 0);
    const paged = t.page > 0 || Boolean(t.next);
    renderExpiring(items.filter(expiresSoon).length, paged);
    show($('tokens-pager'), paged);
    $('tokens-prev').disabled = t.page === 0;
    $('tokens-next').disabled = !t.next;
    $('tokens-page-label').textContent = 'Page ' + (t.page + 1);
  }

  // expiresSoon is a token the list says expires within its warning window
  // (expiresInDays, 7 days down to 0) and that no rotation replaced yet.
  function expiresSoon(t) {
    return Number.isInteger(t.expiresInDays) && !t.replacedBy;
  }

  // renderExpiring warns above the table of the tokens that expire soon,
  // in words and with a sign, not by colour alone.
  function renderExpiring(n, paged) {
    const line = $('tokens-expiring');
    show(line, n > 0);
    if (n === 0) return line.replaceChildren();
    // "7 days": the API's window for expiresInDays (and the first expiry notice).
    const what = `${n} ${n === 1 ? 'token' : 'tokens'}${paged ? ' on this page' : ''} ${n === 1 ? 'expires' : 'expire'} within 7 days.`;
    line.replaceChildren(
      el('strong', { text: what }),
      ' Before then, rotate ' + (n === 1 ? 'it' : 'each') + ' (Rotate Token in its ⋯ menu) and give the new token to what uses it: from its expiry, every request with it fails.',
    );
  }

  // outsidePolicy says how a token made before a tighter policy breaks it
  // (the list's outsidePolicy, in words), or null for a token within it.
  function outsidePolicy(t) {
    if (!t.outsidePolicy) return null;
    return el('span', { class: 'outside-policy', text: 'Outside the token policy: ' + t.outsidePolicy.join('; ') + '.' });
  }

  // allScopes is every scope there is: what the session has (GET /whoami),
  // so that the API alone owns the set.
  function allScopes() {
    return (state.who && state.who.scopes) || [];
  }

  // scopesCell shows a token's scopes: "All scopes" when it has every one,
  // else each scope unbroken, on as many lines as the cell needs.
  function scopesCell(scopes) {
    const all = allScopes();
    if (all.length > 0 && all.every((s) => scopes.includes(s))) return el('td', { text: 'All scopes' });
    return el('td', {}, el('ul', { class: 'scope-list' }, ...scopes.map((s) => el('li', {}, el('code', { text: s })))));
  }

  // --- Row menus ---
  //
  // A row's menu is a popover in the top layer, placed with position: fixed
  // next to its button: no table box can clip it or scroll to show it, and
  // near the bottom of the window it opens upwards.
  function wireMenu(trigger, menu) {
    trigger.addEventListener('click', () => toggleMenu(trigger, menu));
    trigger.addEventListener('keydown', (e) => {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        openMenu(trigger, menu, e.key === 'ArrowUp' ? 'last' : 'first');
      }
    });
    menu.addEventListener('keydown', (e) => {
      const items = Array.from(menu.querySelectorAll('[role=menuitem]'));
      const at = items.indexOf(document.activeElement);
      const go = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[e.key];
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        closeMenus();
        trigger.focus();
      } else if (e.key === 'Tab') {
        closeMenus();
      } else if (go !== undefined) {
        e.preventDefault();
        items[(go + items.length) % items.length].focus();
      }
    });
  }

  function openMenus() {
    return Array.from(document.querySelectorAll('.menu:popover-open'));
  }

  function closeMenus() {
    for (const m of openMenus()) {
      m.hidePopover();
      const trigger = document.querySelector(`[aria-controls="${CSS.escape(m.id)}"]`);
      if (trigger) trigger.setAttribute('aria-expanded', 'false');
    }
  }

  function openMenu(trigger, menu, focus) {
    closeMenus();
    menu.showPopover();
    placeMenu(trigger, menu);
    trigger.setAttribute('aria-expanded', 'true');
    const items = menu.querySelectorAll('[role=menuitem]');
    items[focus === 'last' ? items.length - 1 : 0].focus({ preventScroll: true });
  }

  function toggleMenu(trigger, menu) {
    if (menu.matches(':popover-open')) closeMenus();
    else openMenu(trigger, menu);
  }

  const MENU_GAP = 4; // px between the button and its menu
  const MENU_MARGIN = 8; // px the menu keeps from the window's edges

  // placeMenu puts menu under trigger, its right edge under the button's,
  // or above the button when there is no room below; always in the window.
  function placeMenu(trigger, menu) {
    const r = trigger.getBoundingClientRect();
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    const w = menu.offsetWidth;
    const h = menu.offsetHeight;
    let top = r.bottom + MENU_GAP;
    if (top + h > vh - MENU_MARGIN && r.top - MENU_GAP - h >= MENU_MARGIN) top = r.top - MENU_GAP - h;
    const left = Math.max(MENU_MARGIN, Math.min(r.right - w, vw - w - MENU_MARGIN));
    menu.style.top = Math.round(top) + 'px';
    menu.style.left = Math.round(left) + 'px';
  }

  // An open menu follows its button when the page scrolls or resizes.
  function placeOpenMenus() {
    for (const m of openMenus()) {
      const trigger = document.querySelector(`[aria-controls="${CSS.escape(m.id)}"]`);
      if (trigger) placeMenu(trigger, m);
    }
  }

  // --- A new token, shown once (Add Token and Rotate Token) ---
  //
  // The dialog's slot (data-once-token) gets a copy of the once-token
  // template, its ids prefixed with the slot's value. Until the token has
  // been copied (the Copy button, or Ctrl+C in its field), every way of
  // closing the dialog but throwing the token away asks first: the token
  // cannot be shown again. Escape in the question goes back to the token.
  // However the dialog closes, the token leaves the page.
  function onceToken(dialog, actions, closeButton) {
    const slot = dialog.querySelector('[data-once-token]');
    const prefix = slot.dataset.onceToken;
    const part = $('once-token').content.cloneNode(true);
    for (const n of part.querySelectorAll('[id]')) n.id = prefix + n.id;
    for (const attr of ['for', 'aria-describedby', 'aria-labelledby']) {
      for (const n of part.querySelectorAll(`[${attr}]`)) {
        n.setAttribute(attr, n.getAttribute(attr).split(' ').map((id) => prefix + id).join(' '));
      }
    }
    slot.replaceWith(part);
    const $p = (id) => $(prefix + id);
    let held = null; // {token, copied}

    const needsConfirm = () => Boolean(held && !held.copied);
    const confirmShown = () => !$p('close-confirm').hidden;
    function showConfirm(on) {
      show($p('close-confirm'), on);
      show(actions, !on);
      if (on) $p('close-back').focus();
    }
    function backToToken() {
      showConfirm(false);
      $p('copy-token').focus();
    }
    function markCopied() {
      if (!held) return;
      held.copied = true;
      if (confirmShown()) {
        showConfirm(false);
        closeButton.focus();
      }
    }
    async function copy() {
      if (!held) return;
      try {
        await navigator.clipboard.writeText(held.token);
        announce($p('copy-status'), 'Copied to the clipboard.');
        markCopied();
      } catch {
        $p('token-value').focus();
        $p('token-value').select();
        announce($p('copy-status'), 'Copying is blocked here: the token is selected, press Ctrl+C (⌘C on a Mac).');
      }
    }

    $p('copy-token').addEventListener('click', copy);
    $p('token-value').addEventListener('copy', markCopied); // Ctrl+C where copying is blocked
    $p('close-back').addEventListener('click', backToToken);
    $p('close-anyway').addEventListener('click', () => dialog.close());
    // Escape: handled on keydown (cancelling it keeps the dialog open
    // whatever the browser's rules for the cancel event); the cancel event
    // still catches other close requests, such as a phone's back gesture.
    dialog.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !needsConfirm()) return;
      e.preventDefault();
      e.stopPropagation();
      if (confirmShown()) backToToken();
      else showConfirm(true);
    });
    dialog.addEventListener('cancel', (e) => {
      if (!needsConfirm()) return;
      e.preventDefault();
      showConfirm(true);
    });
    dialog.addEventListener('close', () => {
      held = null;
      $p('token-value').value = '';
      show($p('token-result'), false);
      showConfirm(false);
      announce($p('copy-status'), '');
    });
    trapFocus(dialog);

    return {
      // show puts token in the dialog, and focus on its Copy button.
      show(token) {
        held = { token, copied: false };
        $p('token-value').value = token;
        show($p('token-result'), true);
        $p('copy-token').focus();
      },
      // requestClose closes the dialog, or first asks when the token was not copied.
      requestClose() {
        if (needsConfirm()) showConfirm(true);
        else dialog.close();
      },
    };
  }

  // --- Add Token dialog ---
  let addOnce; // onceToken of the Add Token dialog, made by wire()

  let addOpening = false; // the policy is being read for a dialog about to open

  // openAddDialog reads the tenant policy, then opens the dialog within it.
  // When the read fails the dialog is offered as without a policy: the API
  // still decides, and says so when it refuses.
  async function openAddDialog() {
    const d = $('add-token-dialog');
    if (d.open || addOpening) return;
    addOpening = true;
    let policy = null;
    try {
      policy = await api('GET', 'tenant-policy');
    } catch (err) {
      if (err.status === 401) return;
    } finally {
      addOpening = false;
    }
    if (!state.session || state.route !== '#/accounts/api-tokens') return;
    state.addPolicy = policy;
    renderScopeChoices();
    resetAddDialog();
    $('token-user').value = state.who ? state.who.user : '';
    d.showModal();
    $('token-description').focus();
  }

  // policyAllows says whether the tenant policy read when the dialog opened
  // lets a new token have scope (every scope, without a policy).
  function policyAllows(scope) {
    return !state.addPolicy || state.addPolicy.allowedScopes.includes(scope);
  }

  // renderScopeChoices offers every scope, each checked that the policy
  // allows: a new token may do all of that unless narrowed. The others are
  // cleared, disabled and named in a note the group is described by.
  function renderScopeChoices() {
    scopeChoices($('token-scopes-list'), 'token-scope-', policyAllows);
    const refused = allScopes().filter((s) => !policyAllows(s));
    $('token-scopes-policy').textContent = refused.length ? `The tenant policy does not allow ${refused.join(', ')}.` : '';
    show($('token-scopes'), allScopes().length > 0);
  }

  // MAX_LIFESPAN_DAYS is the longest lifespan the API takes at all
  // (internal/tokens' MaxLifespanDays): the lifespan field's max when the
  // tenant policy sets none.
  const MAX_LIFESPAN_DAYS = 3650;

  // renderLifespanPolicy puts the policy's maximum and required expiry on the
  // lifespan field (its max and required, which the browser's constraint
  // validation checks), its hint and the dialog's intro.
  function renderLifespanPolicy() {
    const p = state.addPolicy;
    const max = p ? p.maxLifespanDays : null;
    const required = Boolean(p && p.requireExpiry);
    const input = $('token-lifespan');
    input.max = String(max === null ? MAX_LIFESPAN_DAYS : max);
    input.required = required;
    $('token-lifespan-hint').textContent = [
      'A whole number of days, 1 or more.',
      max === null ? null : `At most ${max} ${max === 1 ? 'day' : 'days'} (tenant policy).`,
      required ? 'Required: tokens must expire (tenant policy).' : 'Blank: the token never expires.',
    ].filter(Boolean).join(' ');
    $('add-token-intro').textContent = required ? 'Description is optional.' : 'Description and lifespan are optional.';
  }

  // fieldDays reads a number field of whole days (its min, max and step 1
  // are in the markup): null when it is blank, the number when the
  // browser's constraint validation takes it, else NaN. Validity says what
  // is wrong, not a parse of the text: what the browser cannot read as a
  // number (validity.badInput, "1e" or "--") leaves the value '' too, and
  // must not pass for blank.
  function fieldDays(input) {
    const v = input.validity;
    if (input.value === '' && !v.badInput) return null;
    if (v.valid && Number.isInteger(input.valueAsNumber)) return input.valueAsNumber;
    return NaN;
  }

  // lifespanProblem is why the lifespan field's value is refused before
  // sending, or '' for a value the API is asked with: blank is the token
  // that never expires, unless the policy requires an expiry.
  function lifespanProblem(input) {
    const p = state.addPolicy;
    const days = fieldDays(input);
    if (days === null) return p && p.requireExpiry ? 'Lifespan (days) is required: the tenant policy says tokens must expire.' : '';
    if (!Number.isNaN(days)) return '';
    const max = Number(input.max);
    if (p && p.maxLifespanDays !== null) return `Lifespan (days) must be a whole number from 1 to ${max}: the tenant policy allows at most ${max} ${max === 1 ? 'day' : 'days'}.`;
    if (p && p.requireExpiry) return `Lifespan (days) must be a whole number from 1 to ${max}: the tenant policy says tokens must expire.`;
    return `Lifespan (days) must be a whole number from 1 to ${max}, or blank for a token that never expires.`;
  }

  // scopeChoices fills list with a checkbox for every scope, checked as
  // checked(scope) says; each is labelled with the scope's name.
  function scopeChoices(list, idPrefix, checked) {
    list.replaceChildren(
      ...allScopes().map((scope, i) =>
        el(
          'div',
          { class: 'field check' },
          el('input', { type: 'checkbox', id: idPrefix + i, name: 'scopes', value: scope, checked: checked(scope) }),
          el('label', { for: idPrefix + i }, el('code', { text: scope })),
        ),
      ),
    );
  }

  const checkboxes = (list) => Array.from(list.querySelectorAll('input[type=checkbox]'));
  const scopeBoxes = () => checkboxes($('token-scopes-list'));

  function resetAddDialog() {
    state.created = null;
    $('add-token-form').reset();
    for (const id of ['add-token-intro', 'token-description-hint', 'token-lifespan-hint', 'token-scopes-hint', 'token-scopes-policy']) show($(id), true);
    setError($('add-token-error'), '');
    setError($('token-scopes-error'), '');
    setError($('token-lifespan-error'), '');
    for (const id of ['token-description', 'token-lifespan']) {
      $(id).readOnly = false;
      $(id).removeAttribute('aria-invalid');
    }
    for (const b of scopeBoxes()) b.disabled = !policyAllows(b.value);
    renderLifespanPolicy();
    $('generate-token').disabled = false;
    $('add-token-delete').disabled = true;
  }

  async function generateToken(e) {
    e.preventDefault();
    if (state.created) return;
    const descInput = $('token-description');
    const lifeInput = $('token-lifespan');
    const error = $('add-token-error');
    const lifeError = $('token-lifespan-error');
    setError(error, '');
    setError($('token-scopes-error'), '');
    setError(lifeError, '');
    descInput.removeAttribute('aria-invalid');
    lifeInput.removeAttribute('aria-invalid');
    const body = {};
    const description = descInput.value.trim();
    if (description) body.description = description;
    const problem = lifespanProblem(lifeInput);
    if (problem) {
      lifeInput.setAttribute('aria-invalid', 'true');
      setError(lifeError, problem); // at the field, which it describes
      lifeInput.focus();
      return;
    }
    const days = fieldDays(lifeInput);
    if (days !== null) body.lifespanDays = days;
    // Every scope there is checked: scopes is left out, which gives the
    // token every scope, as the product's Add Token does. Narrowed, by the
    // user or by the policy (which would refuse "all"), the list is sent as
    // it is, an empty one too: the API says that a token needs a scope.
    const boxes = scopeBoxes();
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (chosen.length < allScopes().length) body.scopes = chosen;
    const button = $('generate-token');
    button.disabled = true;
    let created;
    try {
      created = await api('POST', 'api-tokens', body);
    } catch (err) {
      button.disabled = false;
      if (err.status === 401) return;
      if (err.code === 'INVALID_SCOPE') {
        setError($('token-scopes-error'), err.message); // at the field: the group is described by it
        $('token-scopes-error').focus();
        return;
      }
      if (err.code === 'INVALID_LIFESPAN') {
        lifeInput.setAttribute('aria-invalid', 'true');
        setError(lifeError, err.message);
        lifeInput.focus();
        return;
      }
      setError(error, err.message);
      if (err.code === 'DESCRIPTION_TAKEN' || err.code === 'INVALID_DESCRIPTION') descInput.setAttribute('aria-invalid', 'true');
      descInput.focus();
      return;
    }
    state.created = { id: created.id, description: created.description };
    reloadTokens(); // the page behind the dialog lists the new token at once
    descInput.readOnly = true;
    lifeInput.readOnly = true;
    for (const b of boxes) b.disabled = true;
    descInput.value = created.description;
    for (const id of ['add-token-intro', 'token-description-hint', 'token-lifespan-hint', 'token-scopes-hint', 'token-scopes-policy']) show($(id), false);
    $('add-token-delete').disabled = false;
    addOnce.show(created.token);
  }

  async function discardCreated() {
    const c = state.created;
    if (!c) return;
    const button = $('add-token-delete');
    button.disabled = true;
    try {
      await api('DELETE', 'api-tokens/' + encodeURIComponent(c.id));
    } catch (err) {
      if (err.status === 401) return;
      if (err.status !== 404) {
        button.disabled = false;
        setError($('add-token-error'), 'The token could not be deleted: ' + err.message);
        return;
      }
    }
    state.created = null;
    $('add-token-dialog').close();
    announce($('tokens-status'), `Token “${c.description}” was deleted.`);
    reloadTokens();
  }

  // Every way of closing the dialog ends here (and the token has left the
  // page: onceToken).
  function onAddDialogClosed() {
    const c = state.created;
    state.created = null;
    $('add-token-form').reset();
    if (c) announce($('tokens-status'), `Token “${c.description}” was created.`);
    // The list was loaded again when the token was generated (or thrown
    // away): loading it once more could close a menu just opened in it.
    if (state.session && state.route === '#/accounts/api-tokens') $('add-token').focus();
  }

  // reloadTokens shows the first page of tokens again, where a new one is.
  function reloadTokens() {
    if (state.route !== '#/accounts/api-tokens') return;
    state.tokens = { pageStarts: [''], page: 0, next: '' };
    loadTokens();
  }

  // --- Rotate Token dialog ---
  //
  // POST /api-tokens/{id}/rotate with the overlap chosen; the new token is
  // shown once, as on creation. One Idempotency-Key for each opening of the
  // dialog: a retry after a lost answer gets the same new token back.
  let rotateOnce; // onceToken of the Rotate Token dialog, made by wire()

  function openRotateDialog(token, trigger) {
    state.rotating = { token, trigger, key: crypto.randomUUID(), rotated: null };
    $('rotate-token-form').reset();
    $('rotate-token-name').textContent = token.description;
    setError($('rotate-token-error'), '');
    for (const id of ['rotate-token-intro', 'rotate-overlap', 'rotate-token-submit']) show($(id), true);
    show($('rotate-previous'), false);
    $('rotate-token-submit').disabled = false;
    $('rotate-token-close').textContent = 'Cancel';
    $('rotate-token-dialog').showModal();
    $('rotate-token-form').querySelector('input[name=overlap]:checked').focus();
  }

  async function rotateToken(e) {
    e.preventDefault();
    const r = state.rotating;
    if (!r || r.rotated) return;
    setError($('rotate-token-error'), '');
    const overlapMinutes = Number($('rotate-token-form').elements.overlap.value);
    const button = $('rotate-token-submit');
    button.disabled = true;
    let rotated;
    try {
      rotated = await api('POST', 'api-tokens/' + encodeURIComponent(r.token.id) + '/rotate', { overlapMinutes }, { 'Idempotency-Key': r.key });
    } catch (err) {
      button.disabled = false;
      if (err.status === 401) return;
      setError($('rotate-token-error'), err.message); // "This token was already replaced by a rotation …"
      return;
    }
    r.rotated = { id: rotated.id, description: rotated.description };
    reloadTokens(); // behind the dialog: the new token, and the old one as the rotation left it
    for (const id of ['rotate-token-intro', 'rotate-overlap', 'rotate-token-submit']) show($(id), false);
    $('rotate-previous').textContent = 'The old token: ' + rotated.previous.statusText + '.';
    show($('rotate-previous'), true);
    $('rotate-token-close').textContent = 'Close';
    rotateOnce.show(rotated.token);
  }

  function onRotateDialogClosed() {
    const r = state.rotating;
    state.rotating = null;
    if (!r || !state.session) return;
    if (!r.rotated) {
      if (r.trigger.isConnected) r.trigger.focus();
      return;
    }
    announce($('tokens-status'), `Token “${r.rotated.description}” was rotated.`);
    const next = $('tokens-body').querySelector(`tr[data-token-id="${CSS.escape(r.rotated.id)}"] .menu-trigger`);
    (next || $('add-token')).focus();
  }

  // --- Delete Token dialog ---
  function openDeleteDialog(token, trigger) {
    state.deleting = { token, trigger };
    $('delete-token-name').textContent = token.description;
    $('delete-confirm').value = '';
    $('delete-token-submit').disabled = true;
    setError($('delete-token-error'), '');
    $('delete-token-dialog').showModal();
    $('delete-confirm').focus();
  }

  async function deleteToken(e) {
    e.preventDefault();
    const d = state.deleting;
    if (!d || $('delete-confirm').value !== d.token.description) return;
    const button = $('delete-token-submit');
    button.disabled = true;
    try {
      await api('DELETE', 'api-tokens/' + encodeURIComponent(d.token.id));
    } catch (err) {
      if (err.status === 401) return;
      if (err.status !== 404) {
        button.disabled = false;
        setError($('delete-token-error'), 'The token could not be deleted: ' + err.message);
        return;
      }
    }
    d.deleted = true;
    $('delete-token-dialog').close();
  }

  function onDeleteDialogClosed() {
    const d = state.deleting;
    state.deleting = null;
    $('delete-confirm').value = '';
    if (!d || !state.session) return;
    if (d.deleted) {
      announce($('tokens-status'), `Token “${d.token.description}” was deleted.`);
      loadTokens();
      $('add-token').focus();
    } else if (d.trigger.isConnected) {
      d.trigger.focus();
    }
  }

  // ---------------------------------------------------------------------------
  // Sandbox refreshes page
  // ---------------------------------------------------------------------------
  const STEP_LABELS = {
    refreshSandbox: 'Refresh sandbox',
    dropUsers: 'Drop users',
    masking: 'Mask data (DCS compliance job)',
    recreateUsers: 'Recreate non-production users',
  };
  const ACTIVE = new Set(['RUNNING', 'NOT_STARTED']);
  const REDRIVABLE = new Set(['FAILED', 'TIMED_OUT', 'ABORTED']);

  function enterRefreshes() {
    announce($('refreshes-status'), state.flash); // what it said was about the last visit; or what the plan page did
    state.flash = '';
    state.runs.watched = null;
    show($('demo-plan-row'), state.config.mode === 'local');
    loadPlans();
    loadRuns().then(() => {
      if (state.runs.selected) selectRun(state.runs.selected, false);
    });
  }

  function stopPolling() {
    clearTimeout(state.runs.pollTimer);
    clearTimeout(state.runs.listTimer);
    state.runs.pollTimer = 0;
    state.runs.listTimer = 0;
  }

  async function loadPlans() {
    let data;
    try {
      data = await api('GET', 'sandbox-plans');
    } catch (e) {
      if (e.status !== 401) announce($('refreshes-status'), 'The plans could not be loaded: ' + e.message);
      return;
    }
    if (state.route !== '#/sandbox-refreshes') return;
    const items = data.items || [];
    $('plans-body').replaceChildren(
      ...items.map((p) =>
        el(
          'tr',
          { 'data-sandbox': p.sandbox },
          el('th', { scope: 'row', text: p.sandbox }),
          el('td', { text: planCopy(p) }),
          el('td', { text: p.schedule || 'On request' }),
          el('td', { text: p.updatedAt && !p.updatedAt.startsWith('0001') ? `${formatSecond(p.updatedAt)} by ${p.updatedBy}` : '—' }),
          el(
            'td',
            { class: 'actions' },
            el('button', { type: 'button', class: 'button-primary', 'aria-label': 'Start run of ' + p.sandbox, text: 'Start run', onclick: (e) => startRun(p.sandbox, e.currentTarget) }),
            ' ',
            el('a', { class: 'button-secondary', href: planRoute(p.sandbox), 'aria-label': 'Edit plan ' + p.sandbox, text: 'Edit' }),
          ),
        ),
      ),
    );
    labelCells($('plans-table'));
    show($('plans-table'), items.length > 0);
    show($('plans-empty'), items.length === 0);
  }

  const LICENSES = { DEVELOPER: 'Developer', DEVELOPER_PRO: 'Developer Pro', PARTIAL: 'Partial Copy', FULL: 'Full' };

  // planCopy says in a line how a plan refreshes its sandbox: what is copied,
  // who activates the copy, and the options an admin set.
  function planCopy(p) {
    const parts = [p.sourceSandbox ? 'Clone of ' + p.sourceSandbox : LICENSES[p.licenseType] || p.licenseType || '—'];
    parts.push(p.autoActivate ? 'Salesforce activates' : 'the pipeline activates');
    if (p.activationUserGroup) parts.push('access: ' + p.activationUserGroup);
    if (p.apexClassName) parts.push('runs ' + p.apexClassName + ' after the copy');
    if (p.historyDays) parts.push(p.historyDays < 0 ? 'all field history' : p.historyDays + ' days of field history');
    if (p.copyChatter) parts.push('Chatter');
    return parts.join(' · ');
  }

  async function createDemoPlan(e) {
    const button = e.currentTarget;
    button.disabled = true;
    try {
      const plan = await api('POST', 'local/sandbox-demo', {}); // a body, so that it is sent as JSON (the server requires it)
      await api('PUT', 'sandbox-plans/' + encodeURIComponent(plan.sandbox), plan);
      announce($('refreshes-status'), `Plan ${plan.sandbox} created.`);
      await loadPlans();
      const start = $('plans-body').querySelector('button');
      if (start) start.focus();
    } catch (err) {
      if (err.status !== 401) announce($('refreshes-status'), 'The demo plan could not be created: ' + err.message);
    } finally {
      button.disabled = false;
    }
  }

  async function loadRuns() {
    let data;
    try {
      data = await api('GET', 'sandbox-refreshes?limit=20');
    } catch (e) {
      if (e.status === 404) announce($('refreshes-status'), 'This server does not run sandbox refreshes (locally, start it with make run).');
      else if (e.status !== 401) announce($('refreshes-status'), 'The runs could not be loaded: ' + e.message);
      return;
    }
    if (state.route !== '#/sandbox-refreshes') return;
    const items = data.items || [];
    $('runs-body').replaceChildren(
      ...items.map((r) =>
        el(
          'tr',
          { 'data-run-id': r.id, class: r.id === state.runs.selected ? 'selected' : undefined },
          el(
            'th',
            { scope: 'row' },
            el('button', {
              type: 'button',
              class: 'link-button',
              'aria-label': `Show run ${r.id}`,
              'aria-pressed': r.id === state.runs.selected ? 'true' : 'false',
              text: r.id,
              onclick: () => selectRun(r.id, true),
            }),
          ),
          el('td', { text: r.sandbox }),
          el('td', {}, el('span', { class: 'badge badge-' + r.status, text: r.status })),
          el('td', { text: formatSecond(r.requestedAt) }),
          el('td', { text: r.requestedBy }),
          el('td', { text: exposureSummary(r.exposure) }),
        ),
      ),
    );
    labelCells($('runs-table'));
    show($('runs-table'), items.length > 0);
    show($('runs-empty'), items.length === 0);
    for (const r of items) settleStatus(r.id, r.status); // the run may have ended while another was shown
    // Runs started elsewhere (a schedule, an event, another tab) move on too.
    clearTimeout(state.runs.listTimer);
    if (items.some((r) => ACTIVE.has(r.status))) state.runs.listTimer = setTimeout(loadRuns, 2 * POLL_MS);
  }

  async function startRun(sandbox, button) {
    button.disabled = true;
    try {
      const run = await api('POST', 'sandbox-refreshes', { sandbox }, { 'Idempotency-Key': crypto.randomUUID() });
      announce($('refreshes-status'), `Run ${run.id} of ${sandbox} started.`);
      state.runs.watched = { id: run.id, sandbox };
      state.runs.activeUntil = Date.now() + 5000;
      await loadRuns();
      await selectRun(run.id, true);
    } catch (err) {
      if (err.status !== 401) announce($('refreshes-status'), `The run of ${sandbox} could not start: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  }

  async function redrive() {
    const id = state.runs.selected;
    const button = $('redrive');
    button.disabled = true;
    try {
      await api('POST', 'sandbox-refreshes/' + encodeURIComponent(id) + '/redrive');
      announce($('refreshes-status'), `Run ${id} redriven: it resumes from the step that failed.`);
      const listed = $('runs-body').querySelector(`tr[data-run-id="${CSS.escape(id)}"] td`);
      state.runs.watched = { id, sandbox: listed ? listed.textContent : '' };
      state.runs.activeUntil = Date.now() + 5000;
      await selectRun(id, false);
    } catch (err) {
      if (err.status !== 401) announce($('refreshes-status'), `Run ${id} could not be redriven: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  }

  async function selectRun(id, moveFocus) {
    clearTimeout(state.runs.pollTimer);
    state.runs.selected = id;
    for (const tr of $('runs-body').querySelectorAll('tr')) {
      const on = tr.dataset.runId === id;
      tr.classList.toggle('selected', on);
      tr.querySelector('button').setAttribute('aria-pressed', on ? 'true' : 'false');
    }
    let run;
    try {
      run = await api('GET', 'sandbox-refreshes/' + encodeURIComponent(id));
    } catch (err) {
      if (err.status !== 401) announce($('refreshes-status'), `Run ${id} could not be loaded: ${err.message}`);
      return;
    }
    if (state.route !== '#/sandbox-refreshes' || state.runs.selected !== id) return;
    renderRun(run);
    settleStatus(run.id, run.status);
    if (moveFocus) $('run-title').focus();
    $('run-polling').textContent = ACTIVE.has(run.status) ? '(refreshing every few seconds)' : '';
    if (ACTIVE.has(run.status) || Date.now() < state.runs.activeUntil) {
      state.runs.pollTimer = setTimeout(() => {
        selectRun(id, false);
      }, POLL_MS);
    }
    // Keep the run's row in the list in step with its details.
    const listed = $('runs-body').querySelector(`tr[data-run-id="${CSS.escape(id)}"] .badge`);
    if (!listed || listed.textContent !== run.status) loadRuns();
  }

  const ENDINGS = {
    SUCCEEDED: 'succeeded.',
    FAILED: 'failed. Its steps say why; Redrive resumes it from the step that failed.',
    TIMED_OUT: 'timed out. Redrive resumes it from the step that was running.',
    ABORTED: 'was stopped. Redrive resumes it from the step that was running.',
  };

  // settleStatus replaces "Run … started." (or "… redriven") with how the
  // run ended, once the run it speaks of has ended.
  function settleStatus(id, status) {
    const w = state.runs.watched;
    if (!w || w.id !== id || ACTIVE.has(status) || Date.now() < state.runs.activeUntil || !ENDINGS[status]) return;
    state.runs.watched = null;
    announce($('refreshes-status'), `Run ${id}${w.sandbox ? ' of ' + w.sandbox : ''} ${ENDINGS[status]}`);
  }

  function renderRun(run) {
    show($('run-detail'), true);
    $('run-title').textContent = `Run ${run.id} of ${run.sandbox}`;
    const status = $('run-status');
    if (status.textContent !== run.status) {
      status.textContent = run.status;
      status.className = 'badge badge-' + run.status;
    }
    $('run-error').textContent = run.error ? failureText({ step: run.failedStep, ...run.error }) : '';
    show($('redrive'), REDRIVABLE.has(run.status));
    $('redrive').setAttribute('aria-label', 'Redrive run ' + run.id);
    renderExposure(run);
    const attempts = run.attempts || [];
    const several = attempts.length > 1;
    show($('attempts-block'), several);
    $('attempts').replaceChildren(
      ...(several ? attempts : []).map((a) =>
        el(
          'li',
          { 'data-attempt': String(a.number) },
          el('span', { text: `Attempt ${a.number} (${a.number === 1 ? 'started' : 'redriven'} ${formatSecond(a.startedAt)}) ` }),
          el('span', { class: 'badge badge-' + a.status, text: a.status }),
          a.failure ? el('span', { text: ' ' + failureText(a.failure) }) : null,
        ),
      ),
    );
    const steps = run.steps || [];
    $('timeline').replaceChildren(
      ...steps.map((s) => {
        const details = el('dl', { class: 'step-facts' });
        const fact = (name, value) => details.append(el('dt', { text: name }), el('dd', { text: value }));
        if (several) fact('Attempt', String(s.attempt));
        fact('Start', formatSecond(s.startedAt));
        fact('End', s.endedAt ? formatSecond(s.endedAt) : s.outcome === 'RUNNING' ? 'running' : '—');
        fact('Outcome', s.outcome);
        if (s.failure) fact('Why', failureText({ ...s.failure, step: '' })); // the step is this one
        if (s.retrying) fact('Retrying after', s.retrying);
        const name = STEP_LABELS[s.name] || s.name;
        return el(
          'li',
          { class: 'step step-' + s.outcome, 'data-step': s.name, 'data-attempt': String(s.attempt) },
          el('div', { class: 'step-head' }, el('span', { class: 'step-name', text: name }), el('span', { class: 'badge badge-' + s.outcome, text: s.outcome })),
          s.summary ? el('p', { class: 'step-summary', text: s.summary }) : null,
          details,
          // The structured detail is for whoever digs: folded away.
          s.detail && Object.keys(s.detail).length
            ? el('details', { class: 'step-detail' }, el('summary', { text: 'Detail' }), el('pre', { text: JSON.stringify(s.detail, null, 2) }))
            : null,
        );
      }),
    );
    show($('timeline-empty'), steps.length === 0);
  }

  // failureText is a failure as a person reads it: the step, the message,
  // and the stable code to search for.
  function failureText(f) {
    const where = f.step ? `${STEP_LABELS[f.step] || f.step} failed: ` : '';
    return `${where}${f.message} (${f.code})`;
  }

  // renderExposure shows the run's exposure clock (docs/pipeline.md): the
  // two figures the pipeline exists to keep small, and the times behind them.
  function renderExposure(run) {
    const e = run.exposure || {};
    const list = $('run-exposure');
    const fact = (name, value) => list.append(el('dt', { text: name }), el('dd', { text: value }));
    list.replaceChildren();
    if (!e.activatedAt) {
      fact('Open to users', 'Not yet: the copy has not been activated.');
      fact('Unmasked', 'Not yet: the copy has not been activated.');
      return;
    }
    fact('Activated', formatSecond(e.activatedAt));
    fact('Open to users', e.openToUsersSeconds != null ? `${formatDuration(e.openToUsersSeconds)} (users frozen ${formatSecond(e.usersFrozenAt)})` : `until the users are frozen`);
    fact('Unmasked', e.maskedAt ? `${formatDuration(e.unmaskedSeconds)} (masked ${formatSecond(e.maskedAt)})` : `${formatDuration(e.unmaskedSeconds)} so far`);
    if (e.usersRecreatedAt) fact('Users back', formatSecond(e.usersRecreatedAt));
  }

  // exposureSummary is a run's exposure in a list cell.
  function exposureSummary(e) {
    if (!e || !e.activatedAt) return '—';
    const open = e.openToUsersSeconds != null ? `open ${formatDuration(e.openToUsersSeconds)}` : 'open to users';
    return `${open} · unmasked ${formatDuration(e.unmaskedSeconds)}${e.maskedAt ? '' : ' so far'}`;
  }

  // formatDuration spells seconds as "7 s", "35 min 2 s" or "6 h 5 min".
  function formatDuration(seconds) {
    const s = Math.max(0, Math.round(seconds || 0));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ' ' + (s % 60) + ' s' : ''}`;
    const m = Math.floor((s % 3600) / 60);
    return `${Math.floor(s / 3600)} h${m ? ' ' + m + ' min' : ''}`;
  }

  // ---------------------------------------------------------------------------
  // Plan page: a form for every field of a refresh plan (internal/plans),
  // new or loaded with GET /sandbox-plans/{sandbox}, saved with PUT. The API
  // validates, and checks the plan against Salesforce; the console shows
  // the API's message next to the field it names ("salesforce.consumerKey
  // must be …", "nonProdUsers[0].email …", "the plan's apexClassName names
  // …", 'Field "timeoutHours" has the wrong type …'), so the rules have one
  // owner. "Blank: …" states the API's default for a field left blank.
  // ---------------------------------------------------------------------------
  const HISTORY_DAYS = [
    [0, "Salesforce's default"],
    [-1, 'All of it'],
    ...[10, 20, 30, 60, 90, 120, 150, 180].map((n) => [n, n + ' days']),
  ];

  const PLAN_FORM = [
    {
      legend: 'Sandbox',
      fields: [
        { path: 'sandbox', label: 'Sandbox name', hint: "The sandbox's name in production. The plan is saved under it." },
        {
          path: 'licenseType',
          label: 'License type',
          kind: 'select',
          options: [['', 'None: a clone of the source sandbox'], ...Object.entries(LICENSES)],
          hint: 'What the sandbox is refreshed as.',
        },
        { path: 'sourceSandbox', label: 'Source sandbox', hint: 'Set it to refresh the sandbox as a clone of this one, with License type None. Blank: a copy of production.' },
        { path: 'activationUserGroup', label: 'Activation user group', hint: 'The public group of the users who may use the sandbox. Required for Developer and Developer Pro; none for a clone.' },
        { path: 'apexClassName', label: 'Apex class run after the copy', hint: "A SandboxPostCopy class of production. Blank leaves the sandbox's own setting." },
        { path: 'historyDays', label: 'Field history to copy', kind: 'select', number: true, options: HISTORY_DAYS, hint: 'Full sandboxes only.' },
        { path: 'description', label: 'Sandbox description', kind: 'textarea', wide: true, hint: "Replaces the sandbox's description in Salesforce. Blank keeps it." },
        { path: 'autoActivate', label: 'Salesforce activates the copy', kind: 'checkbox', hint: 'Unchecked, the pipeline activates the copy and drops its users right after, so nobody works on unmasked data.' },
        { path: 'copyChatter', label: 'Copy Chatter data', kind: 'checkbox', hint: 'Full sandboxes only.' },
      ],
    },
    {
      legend: 'Salesforce sign-in',
      group: 'salesforce',
      intro: "The pipeline signs in to production and to the sandbox with an external client app's JWT bearer flow.",
      fields: [
        { path: 'salesforce.loginUrl', label: 'Production login URL', hint: 'https://login.salesforce.com or your My Domain URL.' },
        { path: 'salesforce.sandboxLoginUrl', label: 'Sandbox login URL', hint: "Blank: https://test.salesforce.com." },
        { path: 'salesforce.consumerKey', label: 'Consumer key', hint: "The external client app's consumer key." },
        { path: 'salesforce.username', label: 'Integration username', hint: 'The production user the pipeline signs in as. It is never dropped.' },
        { path: 'salesforce.privateKeySecretArn', label: 'Private key secret ARN', hint: "A Secrets Manager secret named dcs-access/<tenant>/… that holds the user's RSA private key (PEM). Pipeline secrets, below, stores the key and fills this in." },
        { path: 'salesforce.apiVersion', label: 'API version', hint: 'Blank: v62.0.' },
        { path: 'salesforce.audience', label: 'Production audience', hint: "Only for a user who signs in through an Experience Cloud site: the site's URL. Left blank, the sign-in's audience is https://login.salesforce.com." },
        { path: 'salesforce.sandboxAudience', label: 'Sandbox audience', hint: 'The same, for the sandbox. Left blank, it is https://test.salesforce.com.' },
      ],
    },
    {
      legend: 'DCS masking',
      group: 'dcs',
      fields: [
        { path: 'dcs.baseUrl', label: 'DCS URL', hint: 'The address of your DCS service.' },
        { path: 'dcs.complianceJobId', label: 'Compliance job ID', hint: 'The DCS compliance job that masks the sandbox.' },
        { path: 'dcs.apiTokenSecretArn', label: 'API token secret ARN', hint: 'A Secrets Manager secret named dcs-access/<tenant>/… that holds a DCS API token. Pipeline secrets, below, makes one and fills this in.' },
        { path: 'dcs.connectorUsername', label: 'Connector username', hint: 'The Salesforce user DCS signs in as to mask the sandbox. It is never dropped.' },
      ],
    },
    {
      legend: 'Users',
      group: 'nonProdUsers',
      fields: [
        { path: 'keepUsers', label: 'Users who keep their access', kind: 'lines', wide: true, hint: 'Production usernames, one a line. Everyone else is dropped from the sandbox while it holds unmasked data.' },
      ],
      users: true,
    },
    {
      legend: 'Schedule and waits',
      fields: [
        { path: 'schedule', label: 'Schedule', hint: 'An EventBridge cron expression in UTC, such as cron(0 2 ? * SUN *). Blank: runs on request only.' },
        { path: 'timeoutHours', label: 'Timeout (hours)', kind: 'int', hint: 'Blank: 72.' },
        { path: 'pollIntervals.refreshSeconds', label: 'First wait for the refresh (seconds)', kind: 'int', hint: 'Each wait doubles, up to the longest. Blank: 300.' },
        { path: 'pollIntervals.maxRefreshSeconds', label: 'Longest wait for the refresh (seconds)', kind: 'int', hint: 'Blank: 600.' },
        { path: 'pollIntervals.maskingSeconds', label: 'First wait for masking (seconds)', kind: 'int', hint: 'Blank: 60.' },
        { path: 'pollIntervals.maxMaskingSeconds', label: 'Longest wait for masking (seconds)', kind: 'int', hint: 'Blank: 600.' },
      ],
    },
  ];
  const PLAN_FIELDS = PLAN_FORM.flatMap((g) => g.fields);

  const USER_FIELDS = [
    ['username', 'Sandbox username'],
    ['email', 'E-mail'],
    ['firstName', 'First name'],
    ['lastName', 'Last name'],
    ['alias', 'Alias'],
    ['profileName', 'Profile'],
    ['timeZone', 'Time zone key'],
    ['locale', 'Locale key'],
    ['emailEncoding', 'E-mail encoding key'],
    ['language', 'Language key'],
  ];
  const NEW_USER = { emailEncoding: 'UTF-8', locale: 'en_US', language: 'en_US' };

  // fieldId is the id of the control for a plan path: "nonProdUsers[0].email"
  // is plan-nonProdUsers-0-email.
  function fieldId(path) {
    return 'plan-' + path.replace(/[.[\]]+/g, '-').replace(/-$/, '');
  }

  function getPath(obj, path) {
    return path.split('.').reduce((v, k) => (v === undefined || v === null ? undefined : v[k]), obj);
  }

  function setPath(obj, path, value) {
    const keys = path.split('.');
    let at = obj;
    for (const k of keys.slice(0, -1)) at = at[k] || (at[k] = {});
    at[keys[keys.length - 1]] = value;
  }

  // fieldEl is one labelled control, with its hint and its error line.
  function fieldEl(spec) {
    const id = fieldId(spec.path);
    const described = [spec.hint ? id + '-hint' : '', id + '-error'].filter(Boolean).join(' ');
    const common = { id, name: spec.path, 'aria-describedby': described };
    let control;
    switch (spec.kind) {
      case 'select':
        control = el('select', common, ...spec.options.map(([value, text]) => el('option', { value: String(value), text })));
        break;
      case 'textarea':
      case 'lines':
        control = el('textarea', Object.assign({ rows: 3, spellcheck: 'false' }, common));
        break;
      case 'checkbox':
        control = el('input', Object.assign({ type: 'checkbox' }, common));
        break;
      case 'int':
        control = el('input', Object.assign({ type: 'text', inputmode: 'numeric', autocomplete: 'off' }, common));
        break;
      default:
        control = el('input', Object.assign({ type: 'text', autocomplete: 'off', spellcheck: 'false' }, common));
    }
    const parts = [el('label', { for: id, text: spec.label }), control];
    if (spec.kind === 'checkbox') parts.reverse();
    return el(
      'div',
      { class: 'field' + (spec.kind === 'checkbox' ? ' check' : '') + (spec.wide ? ' wide' : '') },
      ...parts,
      spec.hint ? el('p', { id: id + '-hint', class: 'hint', text: spec.hint }) : null,
      el('p', { id: id + '-error', class: 'field-error' }),
    );
  }

  function buildPlanForm() {
    $('plan-fields').replaceChildren(
      ...PLAN_FORM.map((g) => {
        const errorId = g.group ? fieldId(g.group) + '-group-error' : undefined;
        const fs = el(
          'fieldset',
          { 'data-group': g.group, 'aria-describedby': errorId },
          el('legend', {}, el('h2', { text: g.legend })), // headings: the form is long
          g.intro ? el('p', { class: 'intro muted', text: g.intro }) : null,
          errorId ? el('p', { id: errorId, class: 'field-error group-error', tabindex: '-1' }) : null,
          el('div', { class: 'form-grid' }, ...g.fields.map(fieldEl)),
        );
        if (g.users) {
          fs.append(
            el('h3', { id: 'plan-users-title', text: 'Non-production users' }),
            el('p', {
              class: 'intro muted',
              text: 'Created in the sandbox once it is masked. Keys are Salesforce’s: a time zone such as America/Los_Angeles, a locale and a language such as en_US, an e-mail encoding such as UTF-8.',
            }),
            el('div', { id: 'plan-users' }),
            el('p', { id: 'plan-users-empty', class: 'muted', text: 'No users: nobody is created in the sandbox.' }),
            el('p', {}, el('button', { type: 'button', class: 'button-secondary', id: 'plan-add-user', text: 'Add a user', onclick: addUser })),
          );
        }
        return fs;
      }),
    );
  }

  function userFieldset(i, user) {
    const fs = el(
      'fieldset',
      { class: 'user', 'data-group': `nonProdUsers[${i}]` },
      el('legend', { text: `User ${i + 1}` }),
      el('div', { class: 'form-grid' }, ...USER_FIELDS.map(([name, label]) => fieldEl({ path: `nonProdUsers[${i}].${name}`, label }))),
      el('p', {}, el('button', { type: 'button', class: 'button-secondary', 'aria-label': `Remove user ${i + 1}`, text: 'Remove user', onclick: () => removeUser(i) })),
    );
    for (const [name] of USER_FIELDS) fs.querySelector('#' + fieldId(`nonProdUsers[${i}].${name}`)).value = user[name] || '';
    return fs;
  }

  function readUsers() {
    return Array.from($('plan-users').children).map((_, i) =>
      Object.fromEntries(USER_FIELDS.map(([name]) => [name, $(fieldId(`nonProdUsers[${i}].${name}`)).value.trim()])),
    );
  }

  function renderUsers(users) {
    $('plan-users').replaceChildren(...users.map((u, i) => userFieldset(i, u)));
    show($('plan-users-empty'), users.length === 0);
  }

  function addUser() {
    const users = readUsers();
    users.push(Object.assign({}, NEW_USER));
    renderUsers(users);
    $(fieldId(`nonProdUsers[${users.length - 1}].username`)).focus();
  }

  function removeUser(i) {
    const users = readUsers();
    users.splice(i, 1);
    renderUsers(users);
    $('plan-add-user').focus();
  }

  // readPlan is the plan the form describes. A number field left blank is
  // left out (the API fills in its default); one that is not a whole
  // number is sent as typed, and the API says which field has the wrong type.
  function readPlan() {
    const plan = {};
    for (const spec of PLAN_FIELDS) {
      const c = $(fieldId(spec.path));
      let value;
      if (spec.kind === 'checkbox') value = c.checked;
      else if (spec.kind === 'lines') value = c.value.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      else if (spec.kind === 'select') value = spec.number ? Number(c.value) : c.value;
      else if (spec.kind === 'int') {
        const text = c.value.trim();
        if (!text) continue;
        value = /^-?[0-9]+$/.test(text) ? Number(text) : text;
      } else value = c.value.trim();
      setPath(plan, spec.path, value);
    }
    plan.nonProdUsers = readUsers();
    return plan;
  }

  function fillPlan(plan) {
    for (const spec of PLAN_FIELDS) {
      const c = $(fieldId(spec.path));
      const value = getPath(plan, spec.path);
      if (spec.kind === 'checkbox') c.checked = Boolean(value);
      else if (spec.kind === 'lines') {
        c.value = (value || []).join('\n');
        c.rows = Math.max(3, (value || []).length + 1);
      } else if (spec.kind === 'select') c.value = String(value === undefined || value === null ? (spec.number ? 0 : '') : value);
      else if (spec.kind === 'int') c.value = value ? String(value) : '';
      else c.value = value || '';
    }
    renderUsers(plan.nonProdUsers || []);
  }

  function clearPlanErrors() {
    for (const n of $('plan-form').querySelectorAll('.field-error')) n.textContent = '';
    for (const n of $('plan-form').querySelectorAll('[aria-invalid]')) n.removeAttribute('aria-invalid');
    setError($('plan-error'), '');
  }

  // The field an API message is about: it starts with the field's path
  // ("dcs.baseUrl must …", "sandbox: production has …"), or says 'Field
  // "timeoutHours" …' or "the plan's apexClassName …".
  const MESSAGE_PATH = /^(?:Field "|the plan's )?([A-Za-z]+(?:\[[0-9]+\])?(?:\.[A-Za-z]+)?)/;

  function errorPlace(message) {
    const m = MESSAGE_PATH.exec(message);
    if (!m) return null;
    const path = /^keepUsers\[[0-9]+\]$/.test(m[1]) ? 'keepUsers' : m[1]; // one field holds them all, a line each
    const control = document.getElementById(fieldId(path));
    if (control && $('plan-form').contains(control)) return { control, line: $(fieldId(path) + '-error') };
    const group = $('plan-form').querySelector(`fieldset[data-group="${CSS.escape(path)}"] .group-error`);
    return group ? { line: group } : null;
  }

  function showPlanError(err) {
    const place = (err.code === 'INVALID_PLAN' || err.code === 'INVALID_BODY') && errorPlace(err.message);
    if (!place) {
      setError($('plan-error'), 'The plan was not saved: ' + err.message);
      return;
    }
    place.line.textContent = err.message;
    if (place.control) {
      place.control.setAttribute('aria-invalid', 'true');
      place.control.focus();
    } else {
      place.line.focus(); // a whole section ("salesforce: production refused …")
    }
  }

  function enterPlan(sandbox) {
    const editing = sandbox !== '';
    state.plan = { sandbox };
    const title = editing ? 'Edit plan ' + sandbox : 'New refresh plan';
    $('plan-title').textContent = title;
    $('plan-crumb').textContent = title;
    $('plan-form').reset();
    clearPlanErrors();
    setError($('plan-load-error'), '');
    $('plan-status').textContent = '';
    $('plan-save').disabled = false;
    $(fieldId('sandbox')).readOnly = editing;
    renderUsers([]);
    resetSecrets();
    if (!editing) {
      show($('plan-form'), true);
      show($('plan-secrets'), true);
      return;
    }
    show($('plan-form'), false);
    show($('plan-secrets'), false);
    show($('plan-loading'), true);
    const at = state.route;
    api('GET', 'sandbox-plans/' + encodeURIComponent(sandbox))
      .then((plan) => {
        if (state.route !== at) return;
        fillPlan(plan);
        show($('plan-form'), true);
        show($('plan-secrets'), true);
      })
      .catch((err) => {
        if (err.status === 401 || state.route !== at) return;
        setError($('plan-load-error'), err.status === 404 ? `There is no refresh plan for ${sandbox} in your tenant.` : 'The plan could not be loaded: ' + err.message);
      })
      .finally(() => show($('plan-loading'), false));
  }

  async function savePlan(e) {
    e.preventDefault();
    clearPlanErrors();
    const plan = readPlan();
    const editing = state.plan.sandbox !== '';
    const sandbox = plan.sandbox;
    if (!sandbox) {
      // The name is the plan's address: without it there is nothing to send.
      showPlanError({ code: 'INVALID_PLAN', message: "sandbox: enter the sandbox's name." });
      return;
    }
    const button = $('plan-save');
    button.disabled = true;
    $('plan-status').textContent = 'Saving: checking the plan with Salesforce…';
    const at = state.route;
    try {
      if (!editing && (await planExists(sandbox))) {
        showPlanError({ code: 'INVALID_PLAN', message: `sandbox: ${sandbox} has a plan already. Edit that plan from the list instead.` });
        return;
      }
      const { status } = await apiResponse('PUT', 'sandbox-plans/' + encodeURIComponent(sandbox), plan);
      if (state.route !== at) return;
      state.flash = `Plan ${sandbox} ${status === 201 ? 'created' : 'saved'}.`;
      location.hash = '#/sandbox-refreshes';
    } catch (err) {
      if (err.status !== 401 && state.route === at) showPlanError(err);
    } finally {
      button.disabled = false;
      $('plan-status').textContent = '';
    }
  }

  // planExists asks the list rather than GET /sandbox-plans/{sandbox},
  // whose 404 for a new name would read as an error in the browser's log.
  async function planExists(sandbox) {
    const data = await api('GET', 'sandbox-plans');
    return (data.items || []).some((p) => p.sandbox.toLowerCase() === sandbox.toLowerCase());
  }

  // --- Pipeline secrets: write-only, for the plan's sandbox ---
  //
  // PUT /sandbox-plans/{sandbox}/salesforce-key stores the integration
  // user's key, POST …/dcs-token mints the pipeline's token into its
  // secret; neither is ever shown back, only where it is stored. The API
  // checks the key and points the plan at each secret; the form's ARN
  // field is set to match, so that saving the form keeps it. A new plan's
  // secrets are stored for the name in its Sandbox name field.
  const MAX_KEY_FILE = 64 * 1024; // the API's largest body: a 16384-bit key's PEM is about 13 KB

  function resetSecrets() {
    $('secret-key').value = '';
    $('secret-key').removeAttribute('aria-invalid');
    $('secret-key-file').value = '';
    for (const id of ['secret-key-error', 'secret-token-error', 'secret-key-status', 'secret-token-status']) $(id).textContent = '';
  }

  // secretsSandbox is the sandbox the secrets are for, or '' after saying
  // at the name's field that it is missing.
  function secretsSandbox() {
    const sandbox = state.plan.sandbox || $(fieldId('sandbox')).value.trim();
    if (!sandbox) showPlanError({ code: 'INVALID_PLAN', message: "sandbox: enter the sandbox's name first: the secrets are stored for it." });
    return sandbox;
  }

  // showSecretError puts an API error at the field it is about: the
  // sandbox's name, or the control the request came from.
  function showSecretError(err, line, control) {
    if (err.code === 'INVALID_SANDBOX') {
      showPlanError({ code: 'INVALID_PLAN', message: 'sandbox: ' + err.message });
      return;
    }
    line.textContent = err.message;
    if (control.matches('textarea')) control.setAttribute('aria-invalid', 'true');
    (control.matches('textarea') ? control : line).focus();
  }

  function pointsAt(stored) {
    return stored.planUpdated ? ' The plan points at it.' : ' The plan gets it when you save it.';
  }

  async function readKeyFile() {
    const input = $('secret-key-file');
    const file = input.files[0];
    if (!file) return;
    input.value = ''; // the key goes into the field, and only there
    $('secret-key-error').textContent = '';
    $('secret-key').removeAttribute('aria-invalid');
    if (file.size > MAX_KEY_FILE) {
      $('secret-key-error').textContent = `${file.name} is ${Math.ceil(file.size / 1024)} KiB: a private key's PEM file is a few KiB. Choose the key's file.`;
      $('secret-key').setAttribute('aria-invalid', 'true');
      return;
    }
    $('secret-key').value = await file.text();
    $('secret-key').focus();
  }

  // storeSecret runs one secret's request from its button: the old
  // messages cleared, the button disabled while it runs, then done(answer)
  // or the error at the field (control: the field, or the button itself).
  async function storeSecret(button, { line, status, control, method, route, body, done }) {
    clearPlanErrors();
    control.removeAttribute('aria-invalid');
    line.textContent = '';
    status.textContent = '';
    const sandbox = secretsSandbox();
    if (!sandbox) return;
    button.disabled = true;
    const at = state.route;
    try {
      const stored = await api(method, 'sandbox-plans/' + encodeURIComponent(sandbox) + '/' + route, body);
      if (state.route === at) status.textContent = done(stored) + pointsAt(stored);
    } catch (err) {
      if (err.status !== 401 && state.route === at) showSecretError(err, line, control);
    } finally {
      enableAgain(button);
    }
  }

  function storeKey(e) {
    const key = $('secret-key');
    return storeSecret(e.currentTarget, {
      line: $('secret-key-error'),
      status: $('secret-key-status'),
      control: key,
      method: 'PUT',
      route: 'salesforce-key',
      body: { privateKey: key.value },
      done(stored) {
        key.value = ''; // stored: it is never shown again
        $(fieldId('salesforce.privateKeySecretArn')).value = stored.secretArn;
        return `Stored at ${stored.secretArn}.`;
      },
    });
  }

  function createPipelineToken(e) {
    return storeSecret(e.currentTarget, {
      line: $('secret-token-error'),
      status: $('secret-token-status'),
      control: e.currentTarget,
      method: 'POST',
      route: 'dcs-token',
      done(stored) {
        $(fieldId('dcs.apiTokenSecretArn')).value = stored.secretArn;
        const r = stored.rotation;
        const made = stored.rotated
          ? `The token stored at ${stored.secretArn} was rotated: the old one keeps working for ${r.overlapMinutes} minutes.`
          : `Token “${stored.token.description}” stored at ${stored.secretArn}.`;
        return `${made} Secrets Manager rotates it every ${r.everyDays} days.`;
      },
    });
  }

  // enableAgain enables a button that was disabled while its request ran,
  // and gives it back the focus that disabling it took away.
  function enableAgain(button) {
    button.disabled = false;
    if (document.activeElement === document.body && button.isConnected && !button.closest('[hidden]')) button.focus();
  }

  // ---------------------------------------------------------------------------
  // Audit trail: GET /audit-events, newest first, a page at a time
  // ---------------------------------------------------------------------------

  // AUDIT_ACTIONS names each action the API records (internal/audit's
  // Actions, in its order: the browser test checks the two agree).
  const AUDIT_ACTIONS = [
    ['api-token.created', 'Token created'],
    ['api-token.rotated', 'Token rotated'],
    ['api-token.deleted', 'Token deleted'],
    ['api-token.revoked-as-leaked', 'Token revoked as leaked'],
    ['api-token.expired', 'Token expired'],
    ['api-token.used-from-new-ip', 'Token used from a new IP'],
    ['tenant-policy.changed', 'Token policy changed'],
    ['sandbox-plan.saved', 'Plan saved'],
    ['sandbox-plan.deleted', 'Plan deleted'],
    ['sandbox-refresh.started', 'Run started'],
    ['sandbox-refresh.redriven', 'Run redriven'],
    ['sandbox-refresh.finished', 'Run finished'],
  ];
  const ACTION_LABELS = new Map(AUDIT_ACTIONS);
  const TARGET_LABELS = { 'api-token': 'Token', 'tenant-policy': 'Token policy', 'sandbox-plan': 'Plan', 'sandbox-refresh': 'Run' };
  const DETAIL_LABELS = { description: 'Description', newTokenId: 'New token', worksUntil: 'Old token works until', expiresAt: 'Expired at', sandbox: 'Sandbox', source: 'Started by', status: 'Status' };

  function resetAudit() {
    state.audit = { pageStarts: [''], page: 0, next: '', query: {} };
    $('audit-body').replaceChildren();
    for (const id of ['audit-table', 'audit-empty', 'audit-pager']) show($(id), false);
    $('audit-filters').reset();
    clearAuditErrors();
    announce($('audit-status'), '');
  }

  // The Audit page's address holds its filters, as the form has them (UTC
  // days): #/audit?action=api-token.rotated&since=2026-11-01&until=2026-11-30.
  // So a filtered view can be bookmarked, shared and reloaded, and each
  // filter applied is a history entry that Back returns to. The page
  // position is kept out of it: a page is the API's opaque cursor, bound to
  // the tenant and the filters, so it goes in the history entry's state,
  // which a reload and Back/Forward keep for that entry (each Next or
  // Previous page is an entry too), and a link someone shares opens on the
  // newest events.
  const AUDIT_DAY = /^\d{4}-\d{2}-\d{2}$/;
  const AUDIT_CURSOR = /^[A-Za-z0-9_-]{1,4096}$/; // base64url, as internal/dynamo encodes it

  // enterAudit shows what the address asks for: the filters it names,
  // each checked (any other value is left blank and never sent), and the
  // page its history entry was on.
  function enterAudit() {
    announce($('audit-status'), '');
    fillAuditFilters(new URLSearchParams(location.hash.slice(AUDIT_ROUTE.length + 1)));
    const query = auditQuery() || {}; // what a script sets is no half-typed date: never null
    const hash = auditHash();
    const { pageStarts, page } = auditPosition(history.state, hash);
    state.audit = { pageStarts, page, next: '', query };
    if (hash !== location.hash) rememberAudit(false); // the address says what is shown, and nothing else
    loadAudit();
  }

  // fillAuditFilters sets the form to the filters params names, each one
  // only when it is valid: an action the API records, a UTC day that the
  // date field takes (it empties one that is no real date, 2026-02-30).
  function fillAuditFilters(params) {
    $('audit-filters').reset();
    clearAuditErrors();
    const action = params.get('action');
    if (ACTION_LABELS.has(action)) $('audit-action').value = action;
    for (const [key, id] of [['since', 'audit-since'], ['until', 'audit-until']]) {
      const day = params.get(key);
      if (day && AUDIT_DAY.test(day)) $(id).value = day;
    }
  }

  // auditHash is the address of the filters the form shows.
  function auditHash() {
    const params = new URLSearchParams();
    for (const [key, id] of [['action', 'audit-action'], ['since', 'audit-since'], ['until', 'audit-until']]) {
      if ($(id).value) params.set(key, $(id).value);
    }
    const q = params.toString();
    return AUDIT_ROUTE + (q ? '?' + q : '');
  }

  // auditPosition is the page a history entry's state was on, when it is
  // one this page wrote for these filters and this tenant; else the first.
  function auditPosition(entry, hash) {
    const first = { pageStarts: [''], page: 0 };
    const a = entry && entry.audit;
    if (!a || a.hash !== hash || !state.who || a.tenant !== state.who.tenant) return first;
    const starts = a.pageStarts;
    if (!Array.isArray(starts) || !Number.isInteger(a.page) || a.page < 0 || a.page >= starts.length) return first;
    if (starts[0] !== '' || !starts.slice(1, a.page + 1).every((c) => typeof c === 'string' && AUDIT_CURSOR.test(c))) return first;
    return { pageStarts: starts.slice(0, a.page + 1), page: a.page };
  }

  // rememberAudit writes the form's filters into the address and the page
  // shown into the history entry's state: a new entry (push), or this one.
  function rememberAudit(push) {
    const hash = auditHash();
    const a = state.audit;
    const entry = { audit: { hash, tenant: state.who ? state.who.tenant : '', pageStarts: a.pageStarts.slice(0, a.page + 1), page: a.page } };
    const url = location.pathname + location.search + hash;
    if (push) history.pushState(entry, '', url);
    else history.replaceState(entry, '', url);
    state.at = historyAt();
  }

  function clearAuditErrors() {
    for (const id of ['audit-since', 'audit-until']) {
      $(id).removeAttribute('aria-invalid');
      $(id + '-error').textContent = '';
    }
  }

  // auditQuery is the filters as the API takes them: a day's start for
  // From, its end for To (UTC, as the page says), or null after saying at
  // the field what is wrong.
  function auditQuery() {
    const q = {};
    const action = $('audit-action').value;
    if (action) q.action = action;
    for (const [id, key, time] of [['audit-since', 'since', 'T00:00:00Z'], ['audit-until', 'until', 'T23:59:59.999Z']]) {
      const input = $(id);
      if (input.validity.badInput) return auditFieldError(id, 'Enter a whole date, or leave it blank.'); // a date half typed in
      if (input.value) q[key] = input.value + time;
    }
    return q;
  }

  function auditFieldError(id, message) {
    $(id).setAttribute('aria-invalid', 'true');
    $(id + '-error').textContent = message;
    $(id).focus();
    return null;
  }

  function applyAuditFilters(e) {
    e.preventDefault();
    clearAuditErrors();
    const query = auditQuery();
    if (!query) return;
    showAuditFrom(query);
  }

  function clearAuditFilters() {
    $('audit-filters').reset();
    clearAuditErrors();
    showAuditFrom({});
  }

  // showAuditFrom shows the first page of query, the form's filters: a new
  // history entry when they differ from the address's.
  function showAuditFrom(query) {
    state.audit = { pageStarts: [''], page: 0, next: '', query };
    rememberAudit(auditHash() !== location.hash);
    loadAudit();
  }

  async function loadAudit() {
    const a = state.audit;
    const q = new URLSearchParams({ ...a.query, limit: String(PAGE_SIZE) });
    if (a.pageStarts[a.page]) q.set('nextToken', a.pageStarts[a.page]);
    let data;
    try {
      data = await api('GET', 'audit-events?' + q.toString());
    } catch (err) {
      if (err.status === 401 || state.route !== AUDIT_ROUTE || state.audit !== a) return;
      if (err.code === 'INVALID_NEXT_TOKEN' && a.page > 0) {
        // A page remembered in history that the API no longer takes: the first, then.
        state.audit = { pageStarts: [''], page: 0, next: '', query: a.query };
        rememberAudit(false);
        loadAudit();
        return;
      }
      // The API names the filter it refuses: said at its field.
      if (err.code === 'INVALID_TIME_RANGE') auditFieldError('audit-until', err.message);
      else if (err.code === 'INVALID_TIME') auditFieldError(err.message.startsWith('until') ? 'audit-until' : 'audit-since', err.message);
      else announce($('audit-status'), 'The audit events could not be loaded: ' + err.message);
      return;
    }
    if (state.route !== AUDIT_ROUTE || state.audit !== a) return;
    a.next = data.nextToken || '';
    renderAudit(data.items || []);
  }

  function renderAudit(items) {
    const a = state.audit;
    $('audit-body').replaceChildren(...items.map(auditRow));
    labelCells($('audit-table'));
    show($('audit-table'), items.length > 0);
    show($('audit-empty'), items.length === 0);
    const filtered = Object.keys(a.query).length > 0;
    $('audit-empty-text').textContent = filtered ? 'No events match these filters.' : 'No events yet.';
    show($('audit-pager'), a.page > 0 || Boolean(a.next));
    $('audit-prev').disabled = a.page === 0;
    $('audit-next').disabled = !a.next;
    $('audit-page-label').textContent = 'Page ' + (a.page + 1);
  }

  function auditRow(ev) {
    const muted = (text) => el('span', { class: 'muted block', text });
    const code = (text) => el('code', { class: 'id', text });
    const actor = ev.actor || {};
    const by = {
      session: () => [actor.user],
      api_token: () => [actor.user, muted('with API token '), code(actor.tokenId)],
      anonymous: () => ['Anyone, without signing in', muted('a report of leaked tokens')],
      event: () => ['An event', muted('from ' + (actor.source || 'the bus'))],
      service: () => ['dcs-access', muted(actor.source || '')],
    }[actor.type];
    const details = Object.entries(ev.details || {}).map(([k, v]) => el('li', {}, (DETAIL_LABELS[k] || k) + ': ', code(v)));
    if (ev.requestId) details.push(el('li', {}, 'Request: ', code(ev.requestId)));
    return el(
      'tr',
      { 'data-event-id': ev.id },
      el('td', {}, el('time', { datetime: ev.time, text: formatUTCSecond(ev.time) })),
      el('td', { class: 'audit-action' }, ACTION_LABELS.get(ev.action) || ev.action),
      el('td', {}, ...(by ? by() : [actor.type || '—'])),
      el('td', {}, (TARGET_LABELS[ev.target.type] || ev.target.type) + ' ', code(ev.target.id)),
      el('td', {}, ev.sourceIp || '—', ev.userAgent ? muted(ev.userAgent) : null),
      el('td', {}, details.length ? el('ul', { class: 'details' }, ...details) : '—'),
    );
  }

  // "Nov 27, 2026 11:15:05" in UTC.
  function formatUTCSecond(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return `${MONTHS[d.getUTCMonth()]} ${pad(d.getUTCDate())}, ${d.getUTCFullYear()} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }

  // wirePager makes a list's Previous and Next buttons (NAME-prev,
  // NAME-next) page through it: pages() is its {pageStarts, page, next},
  // the cursors of the pages seen so far, and load shows the current one.
  function wirePager(name, pages, load) {
    $(name + '-prev').addEventListener('click', () => {
      const p = pages();
      if (p.page > 0) {
        p.page -= 1;
        load();
      }
    });
    $(name + '-next').addEventListener('click', () => {
      const p = pages();
      if (p.next) {
        p.pageStarts[p.page + 1] = p.next;
        p.page += 1;
        load();
      }
    });
  }

  // ---------------------------------------------------------------------------
  // Accounts → Token policy: everyone reads it, administrators change it
  // ---------------------------------------------------------------------------
  function resetPolicyPage() {
    state.policy = null;
    $('policy-summary').replaceChildren();
    $('policy-who').textContent = '';
    for (const id of ['policy-summary', 'policy-form']) show($(id), false);
    show($('policy-loading'), true);
    $('policy-form').reset();
    clearPolicyErrors();
    announce($('policy-status'), '');
  }

  async function enterPolicy() {
    resetPolicyPage();
    await loadPolicy();
  }

  // loadPolicy reads the policy and shows it, and, to an administrator,
  // the form that changes it, filled with it; it returns whether it could.
  async function loadPolicy() {
    let policy;
    try {
      policy = await api('GET', 'tenant-policy');
    } catch (e) {
      if (e.status !== 401 && state.route === '#/accounts/token-policy') {
        show($('policy-loading'), false);
        announce($('policy-status'), 'The token policy could not be loaded: ' + e.message);
      }
      return false;
    }
    if (state.route !== '#/accounts/token-policy') return false;
    state.policy = policy;
    show($('policy-loading'), false);
    renderPolicySummary(policy);
    const admin = Boolean(state.who && state.who.admin);
    $('policy-who').textContent = admin
      ? 'You are a tenant administrator: change it below.'
      : 'Only a tenant administrator can change it. Ask one of yours.';
    show($('policy-form'), admin);
    if (admin) fillPolicyForm(policy);
    return true;
  }

  function renderPolicySummary(p) {
    const every = allScopes().length > 0 && allScopes().every((s) => p.allowedScopes.includes(s));
    const facts = [
      ['Maximum lifespan', p.maxLifespanDays === null ? 'No maximum' : `${p.maxLifespanDays} ${p.maxLifespanDays === 1 ? 'day' : 'days'}`],
      ['Tokens must expire', p.requireExpiry ? 'Yes' : 'No'],
      ['Scopes a token may have', every ? 'All scopes' : el('ul', { class: 'scope-list' }, ...p.allowedScopes.map((s) => el('li', {}, el('code', { text: s }))))],
      ['Who may delete a token', p.ownerOnlyDelete ? "Its own user, or an administrator" : 'Anyone of the tenant'],
      ['Version', p.version === 0 ? '0: none set yet, every token allowed' : String(p.version)],
    ];
    $('policy-summary').replaceChildren(...facts.flatMap(([name, value]) => [el('dt', { text: name }), el('dd', {}, value)]));
    show($('policy-summary'), true);
  }

  function fillPolicyForm(p) {
    $('policy-require-expiry').checked = p.requireExpiry;
    $('policy-max').value = p.maxLifespanDays === null ? '' : String(p.maxLifespanDays);
    scopeChoices($('policy-scopes-list'), 'policy-scope-', (s) => p.allowedScopes.includes(s));
    $('policy-owner-only').checked = p.ownerOnlyDelete;
  }

  function clearPolicyErrors() {
    for (const id of ['policy-require-expiry-error', 'policy-max-error', 'policy-scopes-error']) $(id).textContent = '';
    for (const id of ['policy-require-expiry', 'policy-max']) $(id).removeAttribute('aria-invalid');
    setError($('policy-error'), '');
  }

  // policyField is where an INVALID_POLICY message belongs: the API's
  // message starts with the field it is about.
  const POLICY_FIELDS = {
    requireExpiry: ['policy-require-expiry-error', 'policy-require-expiry'],
    maxLifespanDays: ['policy-max-error', 'policy-max'],
    allowedScopes: ['policy-scopes-error', null],
  };

  function showPolicyError(err) {
    const field = err.code === 'INVALID_POLICY' ? err.message.split(/[\s:]/, 1)[0] : '';
    if (POLICY_FIELDS[field]) return policyFieldError(field, err.message);
    setError($('policy-error'), err.message);
    $('policy-error').focus();
  }

  function policyFieldError(field, message) {
    const [line, control] = POLICY_FIELDS[field];
    $(line).textContent = message;
    if (control) $(control).setAttribute('aria-invalid', 'true');
    $(control || line).focus();
  }

  async function savePolicy(e) {
    e.preventDefault();
    clearPolicyErrors();
    // Over the maximum, not whole, below 1 or no number at all: refused at
    // the field, before sending (the API still decides).
    const input = $('policy-max');
    const max = fieldDays(input);
    if (Number.isNaN(max)) {
      policyFieldError('maxLifespanDays', `Enter a whole number of days from ${input.min} to ${input.max}, or leave it blank for no maximum.`);
      return;
    }
    const body = {
      maxLifespanDays: max, // null: no maximum
      requireExpiry: $('policy-require-expiry').checked,
      allowedScopes: checkboxes($('policy-scopes-list')).filter((b) => b.checked).map((b) => b.value),
      ownerOnlyDelete: $('policy-owner-only').checked,
      version: state.policy.version, // changed only if nobody changed it since it was read
    };
    const button = $('policy-save');
    button.disabled = true;
    try {
      const saved = await api('PUT', 'tenant-policy', body);
      if (state.route !== '#/accounts/token-policy') return;
      state.policy = saved;
      renderPolicySummary(saved);
      fillPolicyForm(saved);
      announce($('policy-status'), `Token policy saved (version ${saved.version}).`);
    } catch (err) {
      if (err.status === 401 || state.route !== '#/accounts/token-policy') return;
      if (err.code === 'POLICY_CHANGED') {
        // Another change came first: show it, and let the change be made to it.
        if (await loadPolicy()) err = { code: err.code, message: err.message + ' The form now shows it: make your change again.' };
      }
      showPolicyError(err);
    } finally {
      enableAgain(button);
    }
  }

  // ---------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------
  function wire() {
    $('skip-link').addEventListener('click', (e) => {
      e.preventDefault();
      $('main').focus();
    });
    $('local-signin').addEventListener('submit', localSignIn);
    $('oidc-signin-button').addEventListener('click', oidcSignIn);
    $('sign-out').addEventListener('click', signOut);
    window.addEventListener('popstate', onHistory);
    window.addEventListener('hashchange', onHistory);

    for (const slot of document.querySelectorAll('[data-accounts-nav]')) slot.replaceWith($('accounts-nav').content.cloneNode(true));

    addOnce = onceToken($('add-token-dialog'), $('add-token-actions'), $('add-token-close'));
    $('add-token').addEventListener('click', openAddDialog);
    $('add-token-form').addEventListener('submit', generateToken);
    $('add-token-delete').addEventListener('click', discardCreated);
    $('add-token-close').addEventListener('click', () => addOnce.requestClose());
    $('add-token-x').addEventListener('click', () => addOnce.requestClose());
    $('add-token-dialog').addEventListener('close', onAddDialogClosed);

    rotateOnce = onceToken($('rotate-token-dialog'), $('rotate-token-actions'), $('rotate-token-close'));
    $('rotate-token-form').addEventListener('submit', rotateToken);
    $('rotate-token-close').addEventListener('click', () => rotateOnce.requestClose());
    $('rotate-token-x').addEventListener('click', () => rotateOnce.requestClose());
    $('rotate-token-dialog').addEventListener('close', onRotateDialogClosed);

    $('delete-confirm').addEventListener('input', () => {
      $('delete-token-submit').disabled = !state.deleting || $('delete-confirm').value !== state.deleting.token.description;
    });
    $('delete-token-form').addEventListener('submit', deleteToken);
    $('delete-token-cancel').addEventListener('click', () => $('delete-token-dialog').close());
    $('delete-token-x').addEventListener('click', () => $('delete-token-dialog').close());
    $('delete-token-dialog').addEventListener('close', onDeleteDialogClosed);
    trapFocus($('delete-token-dialog'));

    wirePager('tokens', () => state.tokens, loadTokens);

    // Clicking outside an open menu, or pressing Escape, closes it.
    document.addEventListener('click', (e) => {
      if (!e.target.closest('.menu-wrap')) closeMenus();
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && openMenus().length) closeMenus();
    });
    window.addEventListener('scroll', placeOpenMenus, { capture: true, passive: true });
    window.addEventListener('resize', placeOpenMenus);

    $('audit-action').append(...AUDIT_ACTIONS.map(([value, label]) => el('option', { value, text: label })));
    $('audit-filters').addEventListener('submit', applyAuditFilters);
    $('audit-clear').addEventListener('click', clearAuditFilters);
    // Each page of the audit trail is a history entry, as a link's would be.
    wirePager('audit', () => state.audit, () => {
      rememberAudit(true);
      loadAudit();
    });
    $('policy-form').addEventListener('submit', savePolicy);

    buildPlanForm();
    $('plan-form').addEventListener('submit', savePlan);
    $('secret-key-file').addEventListener('change', readKeyFile);
    $('secret-key-store').addEventListener('click', storeKey);
    $('secret-token-create').addEventListener('click', createPipelineToken);
    $('demo-plan').addEventListener('click', createDemoPlan);
    $('redrive').addEventListener('click', redrive);
  }

  async function main() {
    wire();
    try {
      const resp = await fetch('config.json', { cache: 'no-store', credentials: 'omit' });
      if (!resp.ok) throw new Error('HTTP ' + resp.status);
      state.config = await resp.json();
    } catch (e) {
      show($('loading'), false);
      setError($('page-error'), 'The console could not load its configuration (' + e.message + '). Reload the page to try again.');
      return;
    }
    let message = '';
    if (state.config.mode === 'oidc' && /\/auth\/callback$/.test(location.pathname)) {
      message = await oidcCallback();
    } else {
      const saved = sessionStorage.getItem(SESSION_KEY);
      if (saved && !(await startSession(saved))) message = null;
    }
    show($('loading'), false);
    if (message === null) return; // the session did not start, and the sign-in page says why
    if (state.session && !message) route(false);
    else showSignIn(message);
  }

  main();
})();
