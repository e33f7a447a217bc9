// Verifies API tokens offline with a JWK Set, as another service would with
// panva/jose: reads {"jwks": {...}, "issuer": "...", "tokens": ["..."]} on
// stdin and writes one result per token on stdout, in order:
// {"ok": true, "kid", "payload"} or {"ok": false, "code"} (jose's error code).
import { createLocalJWKSet, jwtVerify } from 'jose';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const keys = createLocalJWKSet(input.jwks);
const results = [];
for (const token of input.tokens) {
  try {
    const { payload, protectedHeader } = await jwtVerify(token, keys, {
      issuer: input.issuer,
      algorithms: ['ES256'],
      typ: 'JWT',
    });
    results.push({ ok: true, kid: protectedHeader.kid, payload });
  } catch (err) {
    results.push({ ok: false, code: String(err.code ?? err) });
  }
}
process.stdout.write(JSON.stringify(results));
