// Local stand-in for the AWS Step Functions API: the AWS JSON 1.0 protocol (POST /,
// X-Amz-Target: AWSStepFunctions.<Op>) for the operations the project uses, with
// executions run by the aws-local-stepfunctions ASL interpreter. Contract: docs/pipeline.md.
//
// Environment:
//   PORT              port on 127.0.0.1 (default 8083; 0 = any free port). Prints
//                     "listening on http://127.0.0.1:PORT" once ready.
//   LAMBDA_ENDPOINT   base URL of a Lambda Invoke API: a Task whose Resource is
//                     arn:aws:lambda:…:function:NAME is POSTed to
//                     $LAMBDA_ENDPOINT/2015-03-31/functions/NAME/invocations
//   WAIT_SCALE        multiplies every Wait state's duration (default 1; tests: 0.001)
//   RETRY_SCALE       multiplies Retry intervals (default 1 = the interpreter's own timing)
//   TIMEOUT_SCALE     multiplies the top-level TimeoutSeconds (default 1)
//   DEFINITION_FILE   optional: create this state machine at startup (prints
//                     "state machine ARN" before "listening on …"), with
//   SUBSTITUTIONS     a JSON object for its ${Name} placeholders, and
//   STATE_MACHINE_NAME  its name (default: the file name without .asl.json)
//   AWS_REGION, AWS_ACCOUNT_ID  used in the ARNs and events (default us-east-1, 123456789012)
//   STATUS_EVENTS_ENDPOINT  optional URL: each time an execution ends (SUCCEEDED, FAILED,
//                     TIMED_OUT, ABORTED; again after a redrive ends), a "Step Functions
//                     Execution Status Change" event, shaped as EventBridge delivers it to a
//                     Lambda target, is POSTed there as JSON (see statusEvent). Delivery never
//                     holds up the execution: it runs in the background, in order per
//                     execution, retried on connection errors, 429 and 5xx (STATUS_EVENT_ATTEMPTS
//                     attempts in all, default 4), then given up with a line on stderr.
//                     RUNNING events (start, redrive) are not sent.
import './polyfill.cjs'; // first: the interpreter needs Promise.withResolvers (Node 22+)
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateMachine } from 'aws-local-stepfunctions';
import { substitute } from './substitute.mjs';

const scale = (name) => {
  const v = Number(process.env[name] || 1);
  if (!(v > 0)) throw new Error(`${name} must be a positive number`);
  return v;
};
const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT ?? 8083);
const LAMBDA_ENDPOINT = (process.env.LAMBDA_ENDPOINT ?? '').replace(/\/+$/, '');
const WAIT_SCALE = scale('WAIT_SCALE');
const RETRY_SCALE = scale('RETRY_SCALE');
const TIMEOUT_SCALE = scale('TIMEOUT_SCALE');
const REGION = process.env.AWS_REGION || 'us-east-1';
const ACCOUNT = process.env.AWS_ACCOUNT_ID || '123456789012';
const STATUS_EVENTS_ENDPOINT = process.env.STATUS_EVENTS_ENDPOINT ?? '';
const STATUS_EVENT_ATTEMPTS = Math.max(1, Number(process.env.STATUS_EVENT_ATTEMPTS || 4));
const LOCAL_WAIT = 'arn:aws:states:::local:wait'; // see interpreterCopy
const LOCAL_FAIL = 'arn:aws:states:::local:fail'; // see interpreterCopy
const MAX_TIMER_SECONDS = 2_000_000; // Node timers overflow past 2^31 ms (~24.8 days)

const machines = new Map(); // stateMachineArn -> machine
const executions = new Map(); // executionArn -> execution, in start order

class ApiError extends Error {
  constructor(type, message) {
    super(message);
    this.type = type;
  }
}
const epoch = (ms) => (ms === undefined ? undefined : ms / 1000); // AWS JSON 1.0 timestamps
const str = (v) => JSON.stringify(v ?? null);
// An Error the interpreter matches in Retry/Catch by `name`; its message becomes the Cause.
const taskError = (name, cause) => Object.assign(new Error(cause), { name });

// ---------------------------------------------------------------------------------------
// Running executions

// The interpreter runs a copy of the definition:
// - Wait states become Tasks handled here, because its own override (waitTimeOverrides) is a
//   fixed number of ms per state and cannot scale a SecondsPath that the Go step computes.
//   History still shows them as Wait states (event types come from the original definition).
// - a Fail state whose ErrorPath or CausePath is an intrinsic function (States.Format(…),
//   which AWS allows there) becomes a Task handled here that throws that error, because the
//   interpreter only resolves plain paths there. Parameters evaluates the intrinsic; history
//   still shows a Fail state (FailStateEntered, then ExecutionFailed with that error and cause);
// - a redrive starts at the state the execution failed in (RedriveExecution semantics);
// - TIMEOUT_SCALE applies to the top-level TimeoutSeconds.
function interpreterCopy(definition, startAt) {
  const copy = structuredClone(definition);
  if (startAt) copy.StartAt = startAt;
  if (copy.TimeoutSeconds) copy.TimeoutSeconds = Math.min(copy.TimeoutSeconds * TIMEOUT_SCALE, MAX_TIMER_SECONDS);
  const intrinsic = (path) => typeof path === 'string' && path.startsWith('States.');
  for (const [name, s] of Object.entries(copy.States)) {
    if (s.Type === 'Fail' && (intrinsic(s.ErrorPath) || intrinsic(s.CausePath))) {
      const Parameters = {};
      if (s.Error !== undefined) Parameters.error = s.Error;
      if (s.ErrorPath !== undefined) Parameters['error.$'] = s.ErrorPath;
      if (s.Cause !== undefined) Parameters.cause = s.Cause;
      if (s.CausePath !== undefined) Parameters['cause.$'] = s.CausePath;
      copy.States[name] = { ...(s.Comment && { Comment: s.Comment }), Type: 'Task', Resource: LOCAL_FAIL, Parameters, End: true,
        TimeoutSeconds: MAX_TIMER_SECONDS };
      continue;
    }
    if (s.Type !== 'Wait') continue;
    const { Type, Seconds, SecondsPath, Timestamp, TimestampPath, ...rest } = s;
    const Parameters = Seconds !== undefined ? { seconds: Seconds }
      : SecondsPath ? { 'seconds.$': SecondsPath }
      : Timestamp ? { timestamp: Timestamp } : { 'timestamp.$': TimestampPath };
    // ResultPath null: a Wait passes its input through. (A Wait with InputPath would differ
    // slightly: none of ours has one.)
    copy.States[name] = { ...rest, Type: 'Task', Resource: LOCAL_WAIT, Parameters, ResultPath: null,
      TimeoutSeconds: MAX_TIMER_SECONDS };
  }
  return copy;
}

function startRun(exec, input, startAt, redrive) {
  const definition = interpreterCopy(exec.machine.definition, startAt);
  // The original definition was validated by CreateStateMachine; the copy's local:wait
  // resource is not a real ARN, so skip validating it again.
  const sm = new StateMachine(definition, { validationOptions: { noValidate: true } });
  const run = { controller: new AbortController(), calls: [], failures: new Map(), redrive };
  const handlers = {};
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Task') continue;
    handlers[name] = state.Resource === LOCAL_WAIT ? (p) => waitFor(p, run)
      : state.Resource === LOCAL_FAIL ? ({ error, cause }) => { throw taskError(error, cause ?? ''); }
      : (p) => callTask(exec, run, name, state, p);
  }
  const overrides = { taskResourceLocalHandlers: handlers };
  if (RETRY_SCALE !== 1) overrides.retryIntervalOverrides = retryIntervals(run, definition);
  const handle = sm.run(input, {
    overrides,
    context: {
      Execution: { Id: exec.arn, Name: exec.name, RoleArn: exec.roleArn, RedriveCount: exec.redriveCount },
      StateMachine: { Id: exec.machine.arn, Name: exec.machine.name },
    },
  });
  handle.result.catch(() => {}); // the outcome is read from the event log below
  run.abort = handle.abort;
  // The interpreter's event log is the single, ordered source of the execution history.
  run.done = (async () => {
    for await (const ev of handle.eventLogs) onEngineEvent(exec, run, ev);
  })().catch((e) => console.error(`history of ${exec.arn}:`, e));
  exec.run = run;
}

// The interpreter honours IntervalSeconds/BackoffRate/MaxDelaySeconds/JitterStrategy for
// real, and its only override is "ms per state (per retrier)": so with RETRY_SCALE we compute
// the same backoff ourselves, counting consecutive failures of the state in this run (an
// approximation of the per-retrier attempt counters, exact for one retrier per state).
function retryIntervals(run, definition) {
  return new Proxy({}, {
    get(_, name) {
      const retriers = definition.States[name]?.Retry;
      if (!retriers) return undefined;
      const n = run.failures.get(name) ?? 1;
      return retriers.map((r) => {
        let s = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** (n - 1);
        if (r.MaxDelaySeconds !== undefined) s = Math.min(s, r.MaxDelaySeconds);
        if (r.JitterStrategy === 'FULL') s *= Math.random();
        return s * 1000 * RETRY_SCALE;
      });
    },
  });
}

async function waitFor({ seconds, timestamp }, run) {
  const ms = seconds !== undefined ? seconds * 1000 : Date.parse(timestamp) - Date.now();
  if (!Number.isFinite(ms)) throw taskError('States.Runtime', `invalid Wait: ${str({ seconds, timestamp })}`);
  await sleep(Math.max(0, ms) * WAIT_SCALE, undefined, { signal: run.controller.signal });
  return null;
}

// One attempt of a Task state. Each attempt is queued on the run so that the history
// can show its Scheduled/Started/Succeeded|Failed events when the interpreter reports it.
async function callTask(exec, run, name, state, input) {
  if (run.controller.signal.aborted) throw taskError('States.Runtime', 'execution stopped');
  const call = { state: name, resource: state.Resource, input, timeout: state.TimeoutSeconds ?? 60, start: Date.now() };
  run.calls.push(call);
  try {
    if (state.Resource.startsWith('arn:aws:lambda:')) call.result = await invokeLambda(state.Resource, input, run.controller.signal);
    else throw taskError('States.TaskFailed', `resource not supported locally: ${state.Resource}`);
    run.failures.delete(name);
    return call.result;
  } catch (e) {
    run.failures.set(name, (run.failures.get(name) ?? 0) + 1);
    throw e;
  } finally {
    call.end = Date.now();
  }
}

// The Lambda Invoke API, as Step Functions calls it for a function-ARN Resource. Error
// names follow Step Functions: the function's errorType for function errors (the Cause is
// the whole error payload, as in AWS), Lambda.* for failures of Lambda itself.
async function invokeLambda(resource, payload, signal) {
  const fn = resource.split(':')[6];
  if (!LAMBDA_ENDPOINT) throw taskError('Lambda.ServiceException', 'LAMBDA_ENDPOINT is not set');
  let res, text;
  try {
    res = await fetch(`${LAMBDA_ENDPOINT}/2015-03-31/functions/${encodeURIComponent(fn)}/invocations`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal,
    });
    text = await res.text();
  } catch (e) {
    throw taskError('Lambda.SdkClientException', `invoke ${fn}: ${e.cause?.message ?? e.message}`);
  }
  if (res.status === 429) throw taskError('Lambda.TooManyRequestsException', text);
  if (res.status >= 500) throw taskError('Lambda.ServiceException', text);
  if (!res.ok) {
    const type = (res.headers.get('x-amzn-errortype') ?? '').split(':')[0];
    throw taskError(`Lambda.${type || 'AWSLambdaException'}`, text);
  }
  if (res.headers.has('x-amz-function-error')) {
    let type;
    try { type = JSON.parse(text).errorType; } catch { /* not JSON: Lambda.Unknown */ }
    throw taskError(type || 'Lambda.Unknown', text);
  }
  try {
    return text.trim() === '' ? null : JSON.parse(text);
  } catch {
    throw taskError('Lambda.Unknown', `function ${fn} returned invalid JSON: ${text.slice(0, 200)}`);
  }
}

// ---------------------------------------------------------------------------------------
// History: the interpreter's events, translated into Step Functions history events.

function record(exec, type, details, at = Date.now()) {
  const id = exec.events.length + 1;
  const ev = { id, previousEventId: id - 1, timestamp: epoch(at), type };
  if (details) {
    const key = /StateEntered$/.test(type) ? 'stateEnteredEventDetails'
      : /StateExited$/.test(type) ? 'stateExitedEventDetails'
      : `${type[0].toLowerCase()}${type.slice(1)}EventDetails`;
    ev[key] = details;
  }
  exec.events.push(ev);
}

// One Task attempt: LambdaFunction* events for a function ARN, Task* for integrations.
function recordAttempt(exec, run, name, at, failure) {
  if (run.calls[0]?.state !== name) return; // failed before the call (e.g. a Parameters path)
  const call = run.calls.shift();
  const lambda = call.resource.startsWith('arn:aws:lambda:');
  const [, , , , , resourceType, resource] = call.resource.split(':');
  const svc = lambda ? {} : { resourceType, resource };
  if (lambda) {
    record(exec, 'LambdaFunctionScheduled', { resource: call.resource, input: str(call.input),
      inputDetails: { truncated: false }, timeoutInSeconds: call.timeout }, call.start);
    record(exec, 'LambdaFunctionStarted', null, call.start);
  } else {
    record(exec, 'TaskScheduled', { ...svc, region: REGION, parameters: str(call.input), timeoutInSeconds: call.timeout }, call.start);
    record(exec, 'TaskStarted', svc, call.start);
  }
  const prefix = lambda ? 'LambdaFunction' : 'Task';
  if (!failure) {
    record(exec, `${prefix}Succeeded`, { ...svc, output: str(call.result), outputDetails: { truncated: false } }, call.end ?? at);
  } else {
    const outcome = failure.error === 'States.Timeout' ? 'TimedOut' : 'Failed';
    record(exec, `${prefix}${outcome}`, { ...svc, ...failure }, call.end ?? at);
  }
}

function onEngineEvent(exec, run, ev) {
  const at = ev.timestamp;
  const type = ev.state && exec.machine.definition.States[ev.state.name]?.Type;
  switch (ev.type) {
    case 'ExecutionStarted':
      if (run.redrive) record(exec, 'ExecutionRedriven', { redriveCount: exec.redriveCount }, at);
      else record(exec, 'ExecutionStarted', { input: str(ev.input), inputDetails: { truncated: false }, roleArn: exec.roleArn }, at);
      break;
    case 'StateEntered':
      exec.current = { name: ev.state.name, type, input: ev.state.input };
      record(exec, `${type}StateEntered`, { name: ev.state.name, input: str(ev.state.input), inputDetails: { truncated: false } }, at);
      break;
    case 'StateFailed': // one failed attempt; the interpreter then retries, catches or fails
      if (type === 'Task') recordAttempt(exec, run, ev.state.name, at, { error: ev.Error, cause: String(ev.Cause ?? '') });
      break;
    case 'StateExited':
      if (type === 'Task') recordAttempt(exec, run, ev.state.name, at);
      record(exec, `${type}StateExited`, { name: ev.state.name, output: str(ev.state.output), outputDetails: { truncated: false } }, at);
      exec.current = null;
      break;
    case 'ExecutionSucceeded':
      finish(exec, run, at, 'SUCCEEDED', { output: str(ev.output) });
      break;
    case 'ExecutionFailed':
      finish(exec, run, at, 'FAILED', { error: ev.Error, cause: String(ev.Cause ?? '') });
      break;
    case 'ExecutionTimeout':
      finish(exec, run, at, 'TIMED_OUT', { error: 'States.Timeout', cause: 'The execution exceeded its TimeoutSeconds' });
      break;
    case 'ExecutionAborted':
      finish(exec, run, at, 'ABORTED', exec.stopRequest ?? {});
      break;
    default: // StateRetried, StateCaught: AWS has no event for them (the next attempt shows)
  }
}

function finish(exec, run, at, status, { output, error, cause }) {
  const cur = exec.current;
  if (cur && status !== 'FAILED' && ['Task', 'Wait', 'Map', 'Parallel'].includes(cur.type)) record(exec, `${cur.type}StateAborted`, null, at);
  const details = status === 'SUCCEEDED' ? { output, outputDetails: { truncated: false } } : { error, cause };
  record(exec, { SUCCEEDED: 'ExecutionSucceeded', FAILED: 'ExecutionFailed', TIMED_OUT: 'ExecutionTimedOut', ABORTED: 'ExecutionAborted' }[status], details, at);
  // RedriveExecution resumes in the state that did not complete, with that state's input.
  exec.failedState = status === 'SUCCEEDED' ? null : cur;
  exec.current = null;
  Object.assign(exec, { status, stopDate: at, output: status === 'SUCCEEDED' ? output : undefined, error, cause });
  run.controller.abort(); // ends our Wait timers and in-flight invokes of this run
  console.log(`execution ${exec.name} ${status}${error ? ` ${error}` : ''}`);
  sendStatusEvent(exec); // after the status is final: the receiver may DescribeExecution
}

// ---------------------------------------------------------------------------------------
// Status change events: what EventBridge delivers to a Lambda target of a rule on the
// default bus (source aws.states). The detail carries the DescribeExecution fields:
// epoch-millisecond dates, input/output as JSON text, error/cause (null when none), and the
// redrive fields. Example (FAILED):
//   {"version":"0","id":"<uuid>","detail-type":"Step Functions Execution Status Change",
//    "source":"aws.states","account":"123456789012","time":"2026-01-01T00:00:05Z",
//    "region":"us-east-1","resources":["<executionArn>"],
//    "detail":{"executionArn":"…","stateMachineArn":"…","name":"run-1","status":"FAILED",
//      "startDate":1767225600000,"stopDate":1767225605000,"input":"{…}","inputDetails":{"included":true},
//      "output":null,"outputDetails":null,"error":"PermanentError","cause":"{…}",
//      "redriveCount":0,"redriveDate":null,"redriveStatus":"REDRIVABLE","redriveStatusReason":null}}

function statusEvent(exec) {
  const [redrive, reason] = redriveStatus(exec);
  const output = exec.output ?? null;
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ACCOUNT,
    time: new Date(exec.stopDate ?? Date.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'), // AWS: whole seconds
    region: REGION,
    resources: [exec.arn],
    detail: {
      executionArn: exec.arn,
      stateMachineArn: exec.machine.arn,
      name: exec.name,
      status: exec.status,
      startDate: exec.startDate,
      stopDate: exec.stopDate ?? null,
      input: exec.input,
      inputDetails: { included: true },
      output,
      outputDetails: output === null ? null : { included: true },
      error: exec.error ?? null,
      cause: exec.cause ?? null,
      redriveCount: exec.redriveCount,
      redriveDate: exec.redriveDate ?? null,
      redriveStatus: redrive,
      redriveStatusReason: reason ?? null,
    },
  };
}

// Fire and forget: queued per execution (so a failure's event is delivered before the
// event of the redrive that follows it), never awaited by the run.
function sendStatusEvent(exec) {
  if (!STATUS_EVENTS_ENDPOINT) return;
  const event = statusEvent(exec);
  exec.delivery = (exec.delivery ?? Promise.resolve()).then(() => deliver(event)).catch((e) => console.error(`status event ${event.id}:`, e));
}

async function deliver(event) {
  const body = JSON.stringify(event);
  const what = `status event ${event.detail.status} of ${event.detail.name}`;
  for (let attempt = 1; ; attempt++) {
    let problem;
    try {
      const res = await fetch(STATUS_EVENTS_ENDPOINT, { method: 'POST', headers: { 'content-type': 'application/json' },
        body, signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      if (res.ok) return;
      problem = `HTTP ${res.status} ${text.slice(0, 200)}`;
      if (res.status < 500 && res.status !== 429) { // the receiver refuses the event: retrying will not help
        console.error(`${what} refused by ${STATUS_EVENTS_ENDPOINT}: ${problem}`);
        return;
      }
    } catch (e) {
      problem = e.cause?.message ?? e.message;
    }
    if (attempt >= STATUS_EVENT_ATTEMPTS) {
      console.error(`${what} not delivered to ${STATUS_EVENTS_ENDPOINT} after ${attempt} attempts: ${problem}`);
      return;
    }
    await sleep(250 * 2 ** (attempt - 1));
  }
}

// ---------------------------------------------------------------------------------------
// API operations

const need = (body, ...fields) => {
  for (const f of fields) if (body[f] === undefined || body[f] === '') throw new ApiError('ValidationException', `${f} is required`);
};
const machineOf = (arn) => machines.get(arn) ?? (() => { throw new ApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`); })();
const executionOf = (arn) => executions.get(arn) ?? (() => { throw new ApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`); })();
const NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

// Tokens name the last item returned, so pages stay stable while lists grow.
function page(items, keyOf, maxResults, nextToken) {
  const size = maxResults > 0 ? Math.min(maxResults, 1000) : 100;
  let from = 0;
  if (nextToken) {
    const key = Buffer.from(String(nextToken), 'base64url').toString();
    from = items.findIndex((it) => String(keyOf(it)) === key) + 1;
    if (from === 0) throw new ApiError('InvalidToken', 'Invalid nextToken');
  }
  const slice = items.slice(from, from + size);
  const more = from + size < items.length;
  return { slice, nextToken: more ? Buffer.from(String(keyOf(slice.at(-1)))).toString('base64url') : undefined };
}

const summary = (e) => ({ executionArn: e.arn, stateMachineArn: e.machine.arn, name: e.name, status: e.status,
  startDate: epoch(e.startDate), stopDate: epoch(e.stopDate), redriveCount: e.redriveCount, redriveDate: epoch(e.redriveDate) });

function redriveStatus(e) {
  if (e.status === 'RUNNING' || e.status === 'SUCCEEDED') return ['NOT_REDRIVABLE', `Execution is ${e.status} and cannot be redriven`];
  return e.failedState ? ['REDRIVABLE'] : ['NOT_REDRIVABLE', 'Execution has no failed state to resume'];
}

function createStateMachine({ name, definition, roleArn, type }) {
  need({ name, definition }, 'name', 'definition');
  if (!NAME.test(name)) throw new ApiError('InvalidName', `Invalid Name: '${name}'`);
  if (type && type !== 'STANDARD') throw new ApiError('ValidationException', 'only STANDARD state machines are supported locally');
  let parsed;
  try {
    parsed = JSON.parse(definition);
    if (/\$\{[^}]*\}/.test(definition)) throw new Error('it still has ${…} placeholders: substitute them first');
    new StateMachine(parsed); // validates (asl-validator, ARNs and paths included)
    // and the copy that runs: this checks the intrinsic functions of Fail states (see
    // interpreterCopy), which the validator takes as plain strings.
    const { TimeoutSeconds, ...copy } = interpreterCopy(parsed); // (scaled, it need not be whole)
    new StateMachine({ ...copy, ...(TimeoutSeconds && { TimeoutSeconds: parsed.TimeoutSeconds }) },
      { validationOptions: { checkArn: false } });
  } catch (e) {
    throw new ApiError('InvalidDefinition', `Invalid State Machine Definition: ${e.message}`);
  }
  const arn = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
  const existing = machines.get(arn);
  if (existing && existing.text !== definition) throw new ApiError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
  const machine = existing ?? { arn, name, text: definition, definition: parsed, creationDate: Date.now(),
    roleArn: roleArn ?? `arn:aws:iam::${ACCOUNT}:role/stepfunctions-local` };
  machines.set(arn, machine);
  return { stateMachineArn: arn, creationDate: epoch(machine.creationDate) };
}

const operations = {
  CreateStateMachine: createStateMachine,

  DescribeStateMachine({ stateMachineArn }) {
    const m = machineOf(stateMachineArn);
    return { stateMachineArn: m.arn, name: m.name, status: 'ACTIVE', definition: m.text, roleArn: m.roleArn,
      type: 'STANDARD', creationDate: epoch(m.creationDate) };
  },

  // Idempotent like AWS: the same name and input while RUNNING returns the same execution;
  // the same name otherwise is ExecutionAlreadyExists.
  StartExecution({ stateMachineArn, name = randomUUID(), input = '{}' }) {
    const machine = machineOf(stateMachineArn);
    if (!NAME.test(name)) throw new ApiError('InvalidName', `Invalid Name: '${name}'`);
    let parsed;
    try { parsed = JSON.parse(input); } catch (e) { throw new ApiError('InvalidExecutionInput', `Invalid execution input: ${e.message}`); }
    const arn = `arn:aws:states:${REGION}:${ACCOUNT}:execution:${machine.name}:${name}`;
    const existing = executions.get(arn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return { executionArn: arn, startDate: epoch(existing.startDate) };
      throw new ApiError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    }
    const exec = { arn, name, machine, input, roleArn: machine.roleArn, status: 'RUNNING', startDate: Date.now(),
      events: [], redriveCount: 0 };
    executions.set(arn, exec);
    startRun(exec, parsed, undefined, false);
    return { executionArn: arn, startDate: epoch(exec.startDate) };
  },

  DescribeExecution({ executionArn }) {
    const e = executionOf(executionArn);
    const [status, reason] = redriveStatus(e);
    return { ...summary(e), input: e.input, inputDetails: { included: true },
      ...(e.output !== undefined && { output: e.output, outputDetails: { included: true } }),
      error: e.error, cause: e.cause, redriveStatus: status, redriveStatusReason: reason };
  },

  ListExecutions({ stateMachineArn, statusFilter, redriveFilter, maxResults, nextToken }) {
    const machine = machineOf(stateMachineArn);
    const all = [...executions.values()].reverse() // newest first, as AWS lists them
      .filter((e) => e.machine === machine && (!statusFilter || e.status === statusFilter)
        && (!redriveFilter || (redriveFilter === 'REDRIVEN') === e.redriveCount > 0));
    const { slice, nextToken: next } = page(all, (e) => e.arn, maxResults, nextToken);
    return { executions: slice.map(summary), nextToken: next };
  },

  GetExecutionHistory({ executionArn, maxResults, nextToken, reverseOrder = false, includeExecutionData = true }) {
    const e = executionOf(executionArn);
    const events = reverseOrder ? [...e.events].reverse() : e.events;
    const { slice, nextToken: next } = page(events, (ev) => ev.id, maxResults, nextToken);
    const strip = (ev) => JSON.parse(JSON.stringify(ev, (k, v) => (['input', 'output', 'parameters'].includes(k) ? undefined : v)));
    return { events: includeExecutionData ? slice : slice.map(strip), nextToken: next };
  },

  async StopExecution({ executionArn, error, cause }) {
    const e = executionOf(executionArn);
    if (e.status === 'RUNNING') {
      e.stopRequest = { error, cause };
      e.run.abort();
      await e.run.done; // the history (ExecutionAborted) and status are final when we answer
    }
    return { stopDate: epoch(e.stopDate) };
  },

  RedriveExecution({ executionArn }) {
    const e = executionOf(executionArn);
    const [status, reason] = redriveStatus(e);
    if (status !== 'REDRIVABLE') throw new ApiError('ExecutionNotRedrivable', `${reason}: '${executionArn}'`);
    const from = e.failedState;
    Object.assign(e, { status: 'RUNNING', redriveCount: e.redriveCount + 1, redriveDate: Date.now(),
      stopDate: undefined, output: undefined, error: undefined, cause: undefined, failedState: null, stopRequest: undefined });
    startRun(e, from.input, from.name, true);
    return { redriveDate: epoch(e.redriveDate) };
  },
};

// ---------------------------------------------------------------------------------------
// HTTP

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

// Only local programs may call: a request with an Origin header comes from a
// web page (a cross-site fetch), and one whose Host is not this server's
// loopback address from a page after DNS rebinding (docs/security.md).
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];
function fromLocalProgram(req) {
  const host = String(req.headers.host ?? '').toLowerCase();
  const port = server.address().port;
  return req.headers.origin === undefined && LOOPBACK_NAMES.some((name) => host === `${name}:${port}`);
}

const server = createServer(async (req, res) => {
  const send = (status, body, contentType = 'application/x-amz-json-1.0') => {
    res.writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify(body));
  };
  if (!fromLocalProgram(req)) {
    return send(403, { __type: 'AccessDeniedException', message: 'Only local programs may call the Step Functions stand-in: no Origin header, and Host 127.0.0.1, localhost or [::1] with its port.' });
  }
  try {
    const url = new URL(req.url, `http://${HOST}`);
    if (req.method !== 'POST' || url.pathname !== '/') return send(404, { message: 'not found' }, 'application/json');
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
    if (!Object.hasOwn(operations, op)) throw new ApiError('UnknownOperationException', `Operation not supported locally: ${target}`);
    let body;
    try { body = JSON.parse((await readBody(req)) || '{}'); } catch { throw new ApiError('SerializationException', 'Request body is not JSON'); }
    send(200, await operations[op](body));
  } catch (e) {
    if (e instanceof ApiError) return send(400, { __type: e.type, message: e.message });
    console.error(e);
    send(500, { __type: 'InternalFailure', message: String(e?.message ?? e) });
  }
});

server.listen(PORT, HOST, () => {
  try {
    const file = process.env.DEFINITION_FILE;
    if (file) {
      const definition = substitute(readFileSync(file, 'utf8'), JSON.parse(process.env.SUBSTITUTIONS || '{}'));
      const name = process.env.STATE_MACHINE_NAME || basename(file).replace(/(\.asl)?\.json$/, '');
      console.log(`state machine ${createStateMachine({ name, definition }).stateMachineArn}`);
    }
  } catch (e) {
    console.error(`cannot create the state machine from ${process.env.DEFINITION_FILE}: ${e.message}`);
    process.exit(1);
  }
  console.log(`listening on http://${HOST}:${server.address().port}`);
});
