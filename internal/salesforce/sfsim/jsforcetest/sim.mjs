// What every suite shares: the simulator jsforce_test.go started, and
// jsforce used the way its users and the Salesforce CLI use it.
//
// Environment (set by jsforce_test.go):
//   SFSIM_URL           the simulator's root: its token endpoint is SFSIM_URL/services/oauth2/token
//   SFSIM_KEY_FILE      PEM private key whose public half the external client app trusts
//   SFSIM_CONSUMER_KEY  the app's consumer key (the assertion's iss)
//   SFSIM_USERNAME      the integration user, a System Administrator in production
//   SFSIM_FIXTURES      JSON: the seeded users and sandboxes (see fixtures in jsforce_test.go)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import jsforce from 'jsforce';
import jwt from 'jsonwebtoken';

function required(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this suite through go test ./internal/salesforce/sfsim/jsforcetest`);
  return v;
}

export const simURL = required('SFSIM_URL');
export const consumerKey = required('SFSIM_CONSUMER_KEY');
export const username = required('SFSIM_USERNAME');
export const privateKey = readFileSync(required('SFSIM_KEY_FILE'), 'utf8');
export const fixtures = JSON.parse(required('SFSIM_FIXTURES'));
export const apiVersion = fixtures.apiVersion;

// The JWT bearer audiences: Salesforce's generic login URLs, whichever host
// receives the token request (Salesforce Help, "OAuth 2.0 JWT Bearer Flow for
// Server-to-Server Integration": "Use the authorization server's URL for the
// audience value: https://login.salesforce.com, https://test.salesforce.com").
export const PRODUCTION = 'https://login.salesforce.com';
export const SANDBOX = 'https://test.salesforce.com';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

// assertion signs a JWT bearer assertion as jsforce users do, with
// jsonwebtoken: RS256, iss the consumer key, sub the username, exp in 3 minutes.
export function assertion({ sub = username, aud = PRODUCTION, iss = consumerKey, key = privateKey, exp } = {}) {
  return jwt.sign({ iss, sub, aud, exp: exp ?? Math.floor(Date.now() / 1000) + 3 * 60 }, key, { algorithm: 'RS256' });
}

// newConnection is a connection whose token endpoint is the simulator's (a
// My Domain login URL, as far as jsforce knows).
export function newConnection() {
  return new jsforce.Connection({ loginUrl: simURL, version: apiVersion });
}

// login signs in through jsforce's own OAuth2 code: Connection.authorize
// with the JWT bearer grant. It returns the connection and its UserInfo.
export async function login(claims = {}) {
  const conn = newConnection();
  const userInfo = await conn.authorize({ grant_type: JWT_BEARER, assertion: assertion(claims) });
  return { conn, userInfo };
}

// sandboxUsername is a production username as a sandbox copy renames it
// (Salesforce Help, "Sandbox Setup Considerations / Users and Contacts": "the
// username user@acme.com for a sandbox named test becomes user@acme.com.test").
export function sandboxUsername(name, sandbox) {
  return `${name}.${sandbox.toLowerCase()}`;
}

// rejection returns the error a call is refused with, failing if it succeeds.
export async function rejection(promise, what) {
  try {
    const got = await promise;
    assert.fail(`${what}: sfsim accepted it (answered ${JSON.stringify(got)?.slice(0, 300)})`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return err;
  }
}

// accepted returns what a call resolves to, or fails saying what sfsim
// answered and what Salesforce does instead.
export async function accepted(promise, salesforce) {
  try {
    return await promise;
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.fail(`sfsim refused it: ${err.name}: ${err.message}\n    Salesforce: ${salesforce}`);
  }
}

// assertRefused checks a jsforce error: for REST errors its name is the
// errorCode of Salesforce's [{"message","errorCode"}] body, for the token
// endpoint the "error" of {"error","error_description"}.
export function assertRefused(err, name, messagePart, source) {
  const where = source ? `\n    Salesforce: ${source}` : '';
  assert.equal(err.name, name, `refused with ${err.name}: ${err.message}, want ${name}${where}`);
  if (messagePart !== undefined) {
    assert.ok(err.message.includes(messagePart), `message ${JSON.stringify(err.message)} does not say ${JSON.stringify(messagePart)}${where}`);
  }
}

// soqlList is ('a','b',...) for an IN filter.
export function soqlList(values) {
  return `(${values.map((v) => `'${v.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`).join(', ')})`;
}

// poll calls read until done(value) or the timeout, returning every value
// seen (the last one last).
export async function poll(read, done, { timeoutMs = 20_000, everyMs = 50 } = {}) {
  const seen = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    seen.push(v);
    if (done(v) || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// A check's timeout: long enough for the slowest (paging 4,500 users), short
// enough that a hang is reported as that check's failure.
export const TIMEOUT = { timeout: 60_000 };
