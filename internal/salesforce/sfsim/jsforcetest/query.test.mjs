// SOQL queries through jsforce: Connection.query sends GET
// <instance>/services/data/vXX.X/query?q=<SOQL>, and with autoFetch follows
// each nextRecordsUrl by its last path segment, GET .../query/<locator>
// (jsforce src/query.ts _execute, urlToLocator, locatorToUrl).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TIMEOUT, accepted, apiVersion, assertRefused, fixtures, login, rejection } from './sim.mjs';

const USERS = 'SELECT Id, Username, IsActive FROM User';

// Salesforce REST API Developer Guide, "Execute a SOQL Query"
// (resources_query.htm): "up to 2,000 records can be returned at a time";
// Sforce-Query-Options batchSize: "The default is 2,000".
const PAGE = 2000;

let conn;
before(async () => {
  ({ conn } = await login());
});

function bulkUsernames() {
  const { prefix, digits, domain, count } = fixtures.bulk;
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(digits, '0')}${domain}`);
}

describe('a paged SOQL query of users', () => {
  test('run({autoFetch: true}) returns every user exactly once, each with attributes', TIMEOUT, async () => {
    const res = await conn.query(USERS).run({ autoFetch: true, maxFetch: 100_000 });
    assert.equal(res.totalSize, fixtures.prodUsers, 'totalSize counts every production user');
    assert.equal(res.records.length, fixtures.prodUsers, 'autoFetch returned every record');
    assert.equal(res.done, true);
    const byUsername = new Map();
    for (const r of res.records) {
      assert.deepEqual(Object.keys(r).sort(), ['Id', 'IsActive', 'Username', 'attributes'], `record ${JSON.stringify(r)}`);
      assert.equal(r.attributes.type, 'User');
      assert.equal(r.attributes.url, `/services/data/v${apiVersion}/sobjects/User/${r.Id}`);
      assert.equal(typeof r.IsActive, 'boolean');
      assert.ok(!byUsername.has(r.Username), `${r.Username} was returned twice`);
      byUsername.set(r.Username, r);
    }
    assert.equal(new Set(res.records.map((r) => r.Id)).size, res.records.length, 'an Id was returned twice');
    const missing = [fixtures.admin.username, ...bulkUsernames()].filter((u) => !byUsername.has(u));
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} users are missing`);
  });

  test(`a page holds ${PAGE} records, Salesforce's default batch size`, TIMEOUT, async () => {
    const first = await conn.query(USERS); // one page: autoFetch is off by default
    assert.equal(first.totalSize, fixtures.prodUsers);
    assert.equal(first.done, false, 'more than one page');
    assert.equal(first.records.length, PAGE,
      `the first page held ${first.records.length} records; Salesforce serves up to 2,000 a page ` +
      '(REST API Developer Guide, resources_query.htm; Sforce-Query-Options: "The default is 2,000")');
    const second = await conn.queryMore(first.nextRecordsUrl);
    assert.equal(second.records.length, Math.min(PAGE, fixtures.prodUsers - PAGE), 'the second page');
  });
});

describe('query errors, as jsforce reports them (error name = errorCode)', () => {
  test('an unknown field is INVALID_FIELD', TIMEOUT, async () => {
    const err = await rejection(conn.query('SELECT Id, NoSuchField__c FROM User'), 'an unknown field');
    assertRefused(err, 'INVALID_FIELD', "No such column 'NoSuchField__c' on entity 'User'",
      '400 [{"message":"...No such column \'NoSuchField__c\' on entity \'User\'. If you are attempting to use a custom field...","errorCode":"INVALID_FIELD"}] (github.com/mautic/mautic/pull/13406)');
  });

  test('an unknown sObject is INVALID_TYPE', TIMEOUT, async () => {
    const err = await rejection(conn.query('SELECT Id FROM NoSuchObject__c'), 'an unknown sObject');
    assertRefused(err, 'INVALID_TYPE', "sObject type 'NoSuchObject__c' is not supported",
      '400 [{"message":"...sObject type \'NoSuchObject__c\' is not supported. If you are attempting to use a custom object...","errorCode":"INVALID_TYPE"}] (github.com/vlocityinc/vlocity_build/issues/364)');
  });

  // Salesforce runs these; the simulator does not model them, and issue 8
  // asks it to refuse what it does not model with Salesforce's
  // MALFORMED_QUERY, so that a client that starts sending them fails here.
  test('an aggregate query with GROUP BY, which sfsim does not model, is MALFORMED_QUERY', TIMEOUT, async () => {
    const err = await rejection(conn.query('SELECT ProfileId, COUNT(Id) FROM User GROUP BY ProfileId'), 'GROUP BY');
    assertRefused(err, 'MALFORMED_QUERY', undefined,
      'runs it; the simulator must answer what it does not model with 400 [{"message","errorCode":"MALFORMED_QUERY"}] (issue 8)');
  });

  test('a relationship query (Profile.Name), which sfsim does not model, is MALFORMED_QUERY', TIMEOUT, async () => {
    const err = await rejection(conn.query('SELECT Id, Profile.Name FROM User'), 'a relationship field');
    assertRefused(err, 'MALFORMED_QUERY', undefined,
      'runs it (Profile is a standard relationship of User); the simulator must answer what it does not model with MALFORMED_QUERY, not claim the field does not exist (issue 8)');
  });

  test('the session is still good after refused queries', TIMEOUT, async () => {
    await accepted(conn.query(`SELECT Id FROM User WHERE Id = '${fixtures.admin.id}'`), 'a REST error does not end the session');
  });
});
