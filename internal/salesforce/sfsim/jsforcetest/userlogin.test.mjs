// Freezing users through UserLogin (Object Reference, UserLogin: "Represents the settings that
// affect a user's ability to log into an organization"; IsFrozen is updateable; calls query(),
// update()), with jsforce: a query by UserId, then sObject Collections PATCH on UserLogin.
// Help, "Freeze or Unfreeze User Accounts": freezing "block[s] access to the account".
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TIMEOUT, accepted, assertRefused, fixtures, login, rejection, soqlList } from './sim.mjs';

let conn;
before(async () => {
  ({ conn } = await login());
});

const userIds = fixtures.freeze.map((u) => u.id);
const loginQuery = `SELECT Id, UserId, IsFrozen FROM UserLogin WHERE UserId IN ${soqlList(userIds)}`;

describe('freezing users through UserLogin', () => {
  let logins; // UserLogin records by UserId
  let frozen = false;

  test('the users sign in before they are frozen', TIMEOUT, async () => {
    for (const u of fixtures.freeze) await accepted(login({ sub: u.username }), `${u.username} is active and not frozen`);
  });

  test('a query of UserLogin by UserId returns one record per user', TIMEOUT, async () => {
    const res = await conn.query(loginQuery);
    assert.equal(res.totalSize, userIds.length, `records: ${JSON.stringify(res.records)}`);
    logins = new Map(res.records.map((r) => [r.UserId, r]));
    for (const id of userIds) {
      const r = logins.get(id);
      assert.ok(r, `no UserLogin for ${id}`);
      assert.equal(r.IsFrozen, false);
      assert.equal(r.attributes.type, 'UserLogin');
      assert.match(r.Id, /^060/, 'a UserLogin id');
    }
  });

  test("IsFrozen true through sObject Collections (conn.sobject('UserLogin').update([...])) is saved", TIMEOUT, async () => {
    assert.ok(logins, 'the UserLogin query above failed');
    const records = userIds.map((id) => ({ Id: logins.get(id).Id, IsFrozen: true }));
    const results = await accepted(conn.sobject('UserLogin').update(records, { allOrNone: false }), 'answers 200 with per-record results');
    assert.deepEqual(results, records.map((r) => ({ id: r.Id, success: true, errors: [] })));
    const after = await conn.query(loginQuery);
    assert.deepEqual(after.records.map((r) => r.IsFrozen), userIds.map(() => true), 'read back: every user is frozen');
    frozen = true;
  });

  test('a frozen user cannot sign in: invalid_grant', TIMEOUT, async () => {
    assert.ok(frozen, 'the users were not frozen (see above)');
    for (const u of fixtures.freeze) {
      const err = await rejection(login({ sub: u.username }), `${u.username} is frozen`);
      // Salesforce's exact error_description for a frozen user is not documented; the error is invalid_grant.
      assertRefused(err, 'invalid_grant');
    }
  });
});
