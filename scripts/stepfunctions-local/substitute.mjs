// Fills ${Name} placeholders in an ASL definition the way CloudFormation's
// DefinitionSubstitutions does, and refuses to leave any unfilled: a leftover
// "${...}" would otherwise reach the interpreter as a literal (and, for a Resource,
// fail only when that state runs).
//
// CLI: node substitute.mjs FILE '{"Name":"value",...}'  -> substituted JSON on stdout
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function substitute(text, substitutions = {}) {
  const out = text.replace(/\$\{([A-Za-z0-9_.:]+)\}/g, (whole, name) =>
    Object.hasOwn(substitutions, name) ? String(substitutions[name]) : whole);
  const left = [...new Set(out.match(/\$\{[A-Za-z0-9_.:]+\}/g) ?? [])];
  if (left.length > 0) throw new Error(`no substitution given for ${left.join(', ')}`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, subs] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node substitute.mjs FILE [SUBSTITUTIONS_JSON]');
    process.exit(2);
  }
  process.stdout.write(substitute(readFileSync(file, 'utf8'), JSON.parse(subs ?? '{}')));
}
