// JWT bearer sign-in, exactly as jsforce users do it: jsonwebtoken signs the
// assertion, Connection.authorize posts it to <loginUrl>/services/oauth2/token
// (jsforce src/oauth2.ts requestToken/_postParams: form-encoded grant_type and
// assertion) and parses the id URL into userInfo (src/connection.ts parseIdUrl).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  JWT_BEARER, PRODUCTION, SANDBOX, TIMEOUT, accepted, assertRefused, assertion, fixtures, login,
  newConnection, rejection, sandboxUsername, simURL, username,
} from './sim.mjs';

const recordId = (prefix) => new RegExp(`^${prefix}[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$`);

// whoAmI reads the signed-in user's own User record through the session.
async function whoAmI(conn, userId) {
  const res = await conn.query(`SELECT Id, Username FROM User WHERE Id = '${userId}'`);
  assert.equal(res.totalSize, 1, `the session cannot read its own user ${userId}: ${JSON.stringify(res)}`);
  return res.records[0];
}

describe('JWT bearer sign-in through jsforce Connection.authorize', () => {
  test('a production user signs in with aud login.salesforce.com', TIMEOUT, async () => {
    const { conn, userInfo } = await accepted(login({ sub: username, aud: PRODUCTION }),
      'answers 200 with access_token, instance_url and id (Help: OAuth 2.0 JWT Bearer Flow)');
    assert.equal(conn.instanceUrl, fixtures.prodInstanceUrl, 'instanceUrl is production\'s');
    assert.equal(typeof conn.accessToken, 'string');
    assert.ok(conn.accessToken.length > 0, 'accessToken is empty');
    assert.equal(userInfo.id, fixtures.admin.id, 'userInfo.id is the user\'s id, from the id URL');
    assert.match(userInfo.organizationId, recordId('00D'), 'userInfo.organizationId is an org id, from the id URL');
    assert.ok(userInfo.url.endsWith(`/id/${userInfo.organizationId}/${userInfo.id}`),
      `id URL ${userInfo.url} does not end /id/<org>/<user> (jsforce parseIdUrl takes its last two segments)`);
    assert.deepEqual(conn.userInfo, userInfo);
    const me = await whoAmI(conn, userInfo.id);
    assert.equal(me.Username, username);
  });

  test('the token response has the JWT bearer flow\'s fields and no refresh token', TIMEOUT, async () => {
    // OAuth2.requestToken is what Connection.authorize calls; it returns the raw response.
    const res = await accepted(newConnection().oauth2.requestToken({ grant_type: JWT_BEARER, assertion: assertion() }),
      'answers 200 {access_token, scope, instance_url, id, token_type}');
    for (const field of ['access_token', 'scope', 'instance_url', 'id', 'token_type']) {
      assert.equal(typeof res[field], 'string', `token response has no ${field}: ${JSON.stringify(Object.keys(res))}`);
    }
    assert.equal(res.token_type, 'Bearer');
    assert.equal(res.refresh_token, undefined,
      'the JWT bearer flow issues no refresh token (Help: "the client isn\'t required to have a current or stored refresh token")');
  });

  test('the sandbox copy of a production user signs in with aud test.salesforce.com', TIMEOUT, async () => {
    const sub = sandboxUsername(username, fixtures.copied.name);
    const { conn: prod, userInfo: prodInfo } = await login();
    const { conn, userInfo } = await accepted(login({ sub, aud: SANDBOX }),
      `signs ${sub} in to sandbox ${fixtures.copied.name}, whose copy is activated`);
    assert.equal(conn.instanceUrl, fixtures.copied.instanceUrl, 'instanceUrl is the sandbox\'s');
    assert.notEqual(conn.instanceUrl, prod.instanceUrl);
    assert.match(userInfo.id, recordId('005'));
    assert.match(userInfo.organizationId, recordId('00D'));
    assert.notEqual(userInfo.organizationId, prodInfo.organizationId, 'a sandbox is another org, with its own id');
    const me = await whoAmI(conn, userInfo.id);
    assert.equal(me.Username, sub);
  });

  test('an assertion whose aud is the token endpoint\'s own (My Domain) URL is refused: audience is invalid', TIMEOUT, async () => {
    const err = await rejection(login({ aud: simURL }), `aud ${simURL}`);
    assertRefused(err, 'invalid_grant', 'audience is invalid',
      '400 {"error":"invalid_grant","error_description":"audience is invalid"} (github.com/omniphx/forrest/issues/302)');
  });

  test('an assertion signed by a key the app does not trust is refused: invalid_grant', TIMEOUT, async () => {
    const { privateKey: other } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const err = await rejection(login({ key: other.export({ type: 'pkcs8', format: 'pem' }) }), 'an untrusted key');
    assertRefused(err, 'invalid_grant', 'invalid assertion',
      '400 {"error":"invalid_grant","error_description":"invalid assertion"} (github.com/frankkessler/salesforce-laravel-oauth2-rest/issues/68)');
  });

  test('an assertion from an unknown consumer key is refused: invalid_client_id', TIMEOUT, async () => {
    const err = await rejection(login({ iss: 'no-such-consumer-key' }), 'an unknown consumer key');
    assertRefused(err, 'invalid_client_id', 'client identifier invalid',
      '400 {"error":"invalid_client_id","error_description":"client identifier invalid"} (github.com/omniphx/forrest/issues/184)');
  });

  test('an expired assertion is refused: invalid_grant', TIMEOUT, async () => {
    const err = await rejection(login({ exp: Math.floor(Date.now() / 1000) - 60 }), 'exp a minute ago');
    assertRefused(err, 'invalid_grant', 'expired authorization code',
      '400 {"error":"invalid_grant","error_description":"expired authorization code"} (github.com/simple-salesforce/simple-salesforce/issues/491)');
  });

  test('an exp far in the future, as the Salesforce CLI signs it, is accepted', TIMEOUT, async () => {
    // sfdx-core src/org/authInfo.ts tryJwtAuth signs exp: Date.now() + 300, milliseconds read as seconds.
    await accepted(login({ exp: Date.now() + 300 }),
      'does not hold exp to 3 minutes: sf org login jwt, which signs exp in milliseconds, works');
  });
});
