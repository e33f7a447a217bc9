// sObject Collections through jsforce: conn.sobject('User').update([...], {allOrNone})
// sends PATCH .../composite/sobjects {"allOrNone": <bool>, "records": [{"id", "attributes": {"type"}, ...fields}]}
// and returns the per-record results as they come (jsforce src/connection.ts _updateMany).
// Salesforce (REST API Developer Guide, "Update Multiple Records"): 200 when the request is well
// formed, one result per record in request order, errors as [{statusCode, message, fields}].
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TIMEOUT, accepted, fixtures, login, soqlList } from './sim.mjs';

const ROLLED_BACK = 'ALL_OR_NONE_OPERATION_ROLLED_BACK';

let conn;
before(async () => {
  ({ conn } = await login());
});

async function activeByID(ids) {
  const res = await conn.query(`SELECT Id, IsActive FROM User WHERE Id IN ${soqlList(ids)}`);
  return Object.fromEntries(res.records.map((r) => [r.Id, r.IsActive]));
}

function assertSaved(result, id, what) {
  assert.deepEqual(result, { id, success: true, errors: [] }, `${what}: ${JSON.stringify(result)}`);
}

// assertFailed checks a failed record's result has Salesforce's error shape.
function assertFailed(result, what) {
  assert.equal(result?.success, false, `${what} succeeded: ${JSON.stringify(result)}`);
  assert.ok(Array.isArray(result.errors) && result.errors.length > 0, `${what}: no errors: ${JSON.stringify(result)}`);
  for (const e of result.errors) {
    assert.match(e.statusCode ?? '', /^[A-Z_]+$/, `${what}: statusCode of ${JSON.stringify(e)}`);
    assert.equal(typeof e.message, 'string', `${what}: message of ${JSON.stringify(e)}`);
    assert.ok(e.message.length > 0, `${what}: empty message`);
    assert.ok(Array.isArray(e.fields), `${what}: fields of ${JSON.stringify(e)} is not an array`);
  }
  return result.errors[0];
}

describe("sObject Collections update of users (conn.sobject('User').update([...]))", () => {
  test('allOrNone false: 200 with one result per record, in order, the valid ones saved', TIMEOUT, async () => {
    const [one, two] = fixtures.deactivate;
    const records = [
      { Id: one.id, IsActive: false },
      { Id: 'not-an-id', IsActive: false }, // malformed
      { Id: '005000000000000AAA', IsActive: false }, // well formed, no such user
      { Id: fixtures.pinned.id, IsActive: false }, // Salesforce refuses: the org's Default Workflow User
      { Id: two.id, IsActive: false },
    ];
    const results = await accepted(conn.sobject('User').update(records, { allOrNone: false }),
      'answers 200 with per-record results even when some records fail');
    assert.ok(Array.isArray(results), `results: ${JSON.stringify(results)}`);
    assert.equal(results.length, records.length, 'one result per record');
    assertSaved(results[0], one.id, 'a valid record');
    assertFailed(results[1], 'a malformed id');
    assertFailed(results[2], 'an id of no user');
    const pinned = assertFailed(results[3], 'the Default Workflow User');
    assert.notEqual(pinned.statusCode, ROLLED_BACK, 'allOrNone false rolls nothing back');
    assertSaved(results[4], two.id, 'a valid record after failed ones');
    assert.deepEqual(await activeByID([one.id, two.id, fixtures.pinned.id]),
      { [one.id]: false, [two.id]: false, [fixtures.pinned.id]: true }, 'the valid users are inactive, the refused one is not');
  });

  test('allOrNone true: one failure rolls every record back with ALL_OR_NONE_OPERATION_ROLLED_BACK', TIMEOUT, async () => {
    const records = [{ Id: fixtures.rollback.id, IsActive: false }, { Id: fixtures.pinned.id, IsActive: false }];
    const results = await accepted(conn.sobject('User').update(records, { allOrNone: true }),
      'answers 200 with per-record results');
    assert.equal(results.length, 2, `results: ${JSON.stringify(results)}`);
    const rolledBack = assertFailed(results[0], 'a valid record in a failed all-or-none request');
    assert.equal(rolledBack.statusCode, ROLLED_BACK,
      'Salesforce: {"statusCode":"ALL_OR_NONE_OPERATION_ROLLED_BACK","message":"Record rolled back because not all records were valid and the request was using AllOrNone header"}');
    const own = assertFailed(results[1], 'the Default Workflow User');
    assert.notEqual(own.statusCode, ROLLED_BACK, 'the failing record reports its own error');
    assert.deepEqual(await activeByID([fixtures.rollback.id]), { [fixtures.rollback.id]: true }, 'nothing was saved');
  });
});
