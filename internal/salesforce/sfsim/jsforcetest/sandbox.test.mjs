// Sandbox refresh through jsforce's Tooling API, as the Salesforce CLI sends it.
//   conn.tooling.query(soql)             GET .../tooling/query?q=
//   conn.tooling.sobject(T).retrieve(id) GET .../tooling/sobjects/T/<id>
//   conn.tooling.sobject(T).update(rec)  PATCH .../tooling/sobjects/T/<Id>, body = rec minus Id (204 → {id, success, errors})
// (jsforce src/api/tooling.ts, src/connection.ts _retrieveSingle/_updateSingle.)
// The CLI's own code: plugin-org src/commands/org/refresh/sandbox.ts, sfdx-core src/org/org.ts.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SANDBOX, TIMEOUT, accepted, apiVersion, fixtures, login, poll, sandboxUsername, username } from './sim.mjs';

// plugin-org org refresh sandbox: `fields` (uneditableFields included).
const CLI_INFO_FIELDS = ['Id', 'SandboxName', 'LicenseType', 'HistoryDays', 'CopyChatter', 'AutoActivate', 'Description',
  'SourceId', 'IsDeleted', 'CreatedDate', 'CreatedById', 'LastModifiedDate', 'LastModifiedById'];
// plugin-org: "remove uneditable fields before refresh".
const UNEDITABLE = ['IsDeleted', 'CreatedDate', 'CreatedById', 'LastModifiedDate', 'LastModifiedById'];
// sfdx-core `sandboxProcessFields`.
const PROCESS_FIELDS = ['Id', 'Status', 'SandboxName', 'SandboxInfoId', 'LicenseType', 'CreatedDate', 'CopyProgress',
  'SandboxOrganization', 'SourceId', 'Description', 'EndDate', 'Features'];
// A SandboxInfo GET (sample GET in mogox/sfdc_api_samples tooling/sobjects/SandboxInfo/get.md, and the
// Tooling API reference's SandboxInfo fields): every field is present, null when unset.
const INFO_GET_FIELDS = ['Id', 'SandboxName', 'LicenseType', 'HistoryDays', 'CopyChatter', 'AutoActivate', 'Description',
  'ApexClassId', 'TemplateId', 'IsDeleted', 'CreatedDate', 'CreatedById', 'LastModifiedDate', 'LastModifiedById', 'SystemModstamp'];
// Tooling API reference, SandboxProcess.Status: "Possible values include: ..." (labels; SOQL filters use the codes).
const STATUSES = ['Activating', 'Activation Confirmed', 'Deactivation Confirmed', 'Deactivation Finished', 'Activation Processing',
  'Completed', 'Deleted', 'Deleting', 'Discarding', 'Locked', 'Locking', 'Pending', 'Pending Activation', 'Processing',
  'Sampling', 'Stopped', 'Suspended'];
const COPYING = ['Pending', 'Processing', 'Sampling'];

const infoQuery = (name) => `SELECT ${CLI_INFO_FIELDS.join(',')} FROM SandboxInfo WHERE SandboxName='${name}'`;
// sfdx-core querySandboxProcessBySandboxName (polling, resume, sandbox auth).
const latestProcessQuery = (name) =>
  `SELECT ${PROCESS_FIELDS.join(',')} FROM SandboxProcess WHERE SandboxName='${name}' AND Status != 'D' ORDER BY CreatedDate DESC LIMIT 1`;
// sfdx-core refreshSandbox, right after the PATCH (it then drops Status 'Del*' and takes the first).
const refreshProcessQuery = (name) =>
  `SELECT ${PROCESS_FIELDS.join(',')} FROM SandboxProcess WHERE SandboxName='${name}' ORDER BY CreatedDate DESC`;

const DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$/; // as Salesforce renders dateTime fields

function assertFields(record, fields, what) {
  const missing = fields.filter((f) => !(f in record));
  assert.deepEqual(missing, [], `${what} lacks ${missing.join(', ')}: ${JSON.stringify(record)}`);
}

let conn;
before(async () => {
  ({ conn } = await login());
});

describe('the Salesforce CLI refreshes a sandbox (sf org refresh sandbox --no-auto-activate)', () => {
  const sb = fixtures.cli;
  let queried; // the CLI's SandboxInfo record, once its query works
  let refreshed = false;

  test("the CLI's SandboxInfo query returns the sandbox with every field it selects", TIMEOUT, async () => {
    const res = await accepted(conn.tooling.query(infoQuery(sb.name)),
      'runs it: every field is a SandboxInfo field (Tooling API reference, SandboxInfo; plugin-org sandbox.ts `fields`)');
    assert.equal(res.totalSize, 1, `records: ${JSON.stringify(res.records)}`);
    const r = res.records[0];
    assertFields(r, CLI_INFO_FIELDS, 'the record');
    assert.equal(r.Id, sb.id);
    assert.equal(r.SandboxName, sb.name);
    assert.equal(r.LicenseType, sb.licenseType);
    assert.equal(r.IsDeleted, false);
    assert.equal(typeof r.HistoryDays, 'number');
    assert.equal(typeof r.CopyChatter, 'boolean');
    assert.equal(typeof r.AutoActivate, 'boolean');
    assert.match(r.CreatedDate, DATETIME);
    assert.equal(r.attributes.type, 'SandboxInfo');
    assert.equal(r.attributes.url, `/services/data/v${apiVersion}/tooling/sobjects/SandboxInfo/${sb.id}`);
    queried = r;
  });

  test("a GET of the SandboxInfo record (tooling.sobject('SandboxInfo').retrieve) returns it", TIMEOUT, async () => {
    const r = await accepted(conn.tooling.sobject('SandboxInfo').retrieve(sb.id),
      'GET /tooling/sobjects/SandboxInfo/<id> answers 200 with the record (reference: REST methods "GET, PATCH, POST, DELETE")');
    assertFields(r, INFO_GET_FIELDS, 'the record');
    assert.equal(r.Id, sb.id);
    assert.equal(r.SandboxName, sb.name);
    assert.equal(r.LicenseType, sb.licenseType);
    assert.match(r.CreatedDate, DATETIME);
    assert.equal(r.attributes?.type, 'SandboxInfo');
  });

  test("the CLI's PATCH, the queried record minus its read-only fields with AutoActivate false, starts a refresh", TIMEOUT, async (t) => {
    let info = queried;
    if (!info) {
      // The query above failed; send what it returns for a sandbox created with the
      // reference's defaults (HistoryDays 0, CopyChatter false), so this check
      // still tests the PATCH.
      t.diagnostic('the CLI query failed: PATCHing the record it would have returned');
      info = { Id: sb.id, SandboxName: sb.name, LicenseType: sb.licenseType, HistoryDays: 0, CopyChatter: false, AutoActivate: false,
        Description: null, SourceId: null, IsDeleted: false, CreatedDate: null, CreatedById: null, LastModifiedDate: null, LastModifiedById: null };
    }
    const { attributes, ...record } = info;
    const body = Object.fromEntries(Object.entries({ ...record, SandboxName: sb.name, AutoActivate: false })
      .filter(([k]) => !UNEDITABLE.includes(k)));
    const res = await accepted(conn.tooling.sobject('SandboxInfo').update(body),
      'accepts every field the CLI sends (all editable SandboxInfo fields) and answers 204: "To start a sandbox refresh, edit the SandboxInfo record."');
    assert.deepEqual(res, { id: sb.id, success: true, errors: [] });
    refreshed = true;
  });

  test("sfdx-core's queries find the refresh the PATCH started", TIMEOUT, async () => {
    assert.ok(refreshed, 'no refresh was started: the PATCH above was refused');
    const all = await accepted(conn.tooling.query(refreshProcessQuery(sb.name)),
      'runs sfdx-core refreshSandbox\'s query: every field is a SandboxProcess field (Tooling API reference, SandboxProcess)');
    const live = all.records.filter((p) => !p.Status.startsWith('Del'));
    assert.ok(live.length > 0, 'no SandboxProcess found');
    const p = live[0];
    assertFields(p, PROCESS_FIELDS, 'the SandboxProcess');
    assert.equal(p.SandboxInfoId, sb.id);
    assert.equal(p.SandboxName, sb.name);
    assert.match(p.Id, /^0GR/);
    assert.ok(STATUSES.includes(p.Status), `Status ${p.Status} is not one of the reference's`);
    assert.match(p.CreatedDate, DATETIME);
    const latest = await accepted(conn.tooling.query(latestProcessQuery(sb.name)), "runs sfdx-core's Status != 'D' query");
    assert.equal(latest.totalSize, 1);
    assert.equal(latest.records[0].Id, p.Id, 'the latest refresh');
  });
});

describe("sfdx-core's SandboxProcess query on a sandbox whose refresh was activated", () => {
  const sb = fixtures.copied;

  test('it returns the completed refresh with every field it selects, SandboxOrganization the 15-character org id', TIMEOUT, async () => {
    const res = await accepted(conn.tooling.query(latestProcessQuery(sb.name)),
      "runs it: every field is a SandboxProcess field, and Status != 'D' filters by code (Tooling API reference, SandboxProcess; sfdx-core org.ts querySandboxProcessBySandboxName)");
    assert.equal(res.totalSize, 1);
    const p = res.records[0];
    assertFields(p, PROCESS_FIELDS, 'the SandboxProcess');
    assert.equal(p.SandboxInfoId, sb.id);
    assert.equal(p.Status, 'Completed');
    assert.equal(p.CopyProgress, 100);
    assert.match(p.EndDate ?? '', DATETIME, 'EndDate is set once the copy is done (sfdx-core takes EndDate as "copy finished")');
    const { userInfo } = await login({ sub: sandboxUsername(username, sb.name), aud: SANDBOX });
    // sfdx-core querySandboxProcessBySandboxOrgId: "Must query with a 15 character Org ID".
    assert.equal(p.SandboxOrganization, userInfo.organizationId.slice(0, 15), "SandboxOrganization is the sandbox org's 15-character id");
  });
});

describe('activating a refresh started with AutoActivate false (SandboxProcess.RefreshAction)', () => {
  const sb = fixtures.activate;
  // A subset of fields that is valid whatever else the simulator models.
  const processQuery = `SELECT Id, Status, CopyProgress, EndDate, ActivatedDate FROM SandboxProcess WHERE SandboxInfoId = '${sb.id}' ORDER BY CreatedDate DESC LIMIT 1`;
  const readProcess = async () => (await conn.tooling.query(processQuery)).records[0];
  let waiting; // the refresh, once it waits in Pending Activation

  test('the copy waits in Pending Activation, not Completed', TIMEOUT, async () => {
    // The body of public samples and of package salesforce, not the CLI's.
    await accepted(conn.tooling.sobject('SandboxInfo').update({ Id: sb.id, LicenseType: sb.licenseType, AutoActivate: false }),
      'answers 204 and starts a refresh');
    const seen = await poll(readProcess, (p) => p && !COPYING.includes(p.Status));
    const last = seen.at(-1);
    assert.ok(last, 'no SandboxProcess');
    assert.equal(last.Status, 'Pending Activation',
      `statuses seen: ${[...new Set(seen.map((p) => p?.Status))].join(' → ')}; ActivatedDate ${last.ActivatedDate}. ` +
      'Salesforce: "When the Status field value is Pending Activation, change the value of the RefreshAction field to either ACTIVATE or DISCARD" ' +
      '(Tooling API reference, SandboxProcess); Help: "the refreshed copy is inactive until you activate it"');
    assert.equal(last.ActivatedDate, null, 'not activated yet');
    waiting = last;
  });

  test("RefreshAction ACTIVATE (tooling.sobject('SandboxProcess').update) activates it: Completed, with ActivatedDate", TIMEOUT, async () => {
    assert.ok(waiting, 'the refresh never waited in Pending Activation (see above)');
    const res = await accepted(conn.tooling.sobject('SandboxProcess').update({ Id: waiting.Id, RefreshAction: 'ACTIVATE' }),
      'PATCH /tooling/sobjects/SandboxProcess/<id> {"RefreshAction":"ACTIVATE"} answers 204 ("Except for RefreshAction, all fields are read only"; mogox/sfdc_api_samples tooling/sobjects/SandboxProcess/patch.md)');
    assert.deepEqual(res, { id: waiting.Id, success: true, errors: [] });
    const seen = await poll(readProcess, (p) => p.Status === 'Completed' || !['Pending Activation', 'Activating'].includes(p.Status));
    const last = seen.at(-1);
    // ActivatedDate and ActivatedById are fields of the SandboxProcess that is activated.
    assert.equal(last.Id, waiting.Id, 'activation moves the same SandboxProcess on, it starts no new one');
    assert.equal(last.Status, 'Completed', `statuses seen: ${[...new Set(seen.map((p) => p.Status))].join(' → ')}`);
    assert.match(last.ActivatedDate ?? '', DATETIME, 'ActivatedDate: "when the sandbox was activated during a refresh"');
    // Activation is when the copy becomes reachable.
    await accepted(login({ sub: sandboxUsername(username, sb.name), aud: SANDBOX }), 'the activated sandbox\'s users sign in');
  });
});
