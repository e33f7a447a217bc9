// A node:test reporter for jsforce_test.go: one JSON line per test or suite
// when it ends, {path, ok, failureType, message}, where path is the names
// from the outermost suite down, so Go can report each check by name.
export default async function* report(source) {
  const stack = [];
  for await (const { type, data } of source) {
    if (type === 'test:start') {
      stack.length = data.nesting;
      stack.push(data.name);
      continue;
    }
    if (type !== 'test:pass' && type !== 'test:fail') continue;
    const path = [...stack.slice(0, data.nesting), data.name];
    const line = { path, ok: type === 'test:pass' };
    if (type === 'test:fail') {
      const err = data.details?.error;
      const cause = err?.cause ?? err;
      line.failureType = err?.failureType ?? '';
      line.message = describe(cause);
    }
    yield JSON.stringify(line) + '\n';
  }
}

// describe is an error as a person reads it: a jsforce error's name is the
// Salesforce error code, so it is kept; an assertion's message says it all.
function describe(err) {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'AssertionError') return err.message;
  return `${err.name}: ${err.message}`;
}
