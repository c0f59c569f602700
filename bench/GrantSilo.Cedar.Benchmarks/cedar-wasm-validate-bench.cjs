// Times @cedar-policy/cedar-wasm's validator and schema parser on the GrantSilo validation workload.
// Usage: node cedar-wasm-validate-bench.cjs INPUT.json
// INPUT: { "schema": "<cedarschema>", "policies": "<cedar text>", "validateIterations": n, "parseIterations": n }
// Prints one JSON object: median times (ns) of validate (parses schema and policies, then validates),
// checkParseSchema on the human-readable and on the JSON schema, the verdict, and the schema as JSON.
'use strict';
const fs = require('fs');
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
function time(n, f) {
  for (let i = 0; i < Math.min(3, n); i++) f();
  const out = [];
  for (let i = 0; i < n; i++) {
    const start = process.hrtime.bigint();
    f();
    out.push(Number(process.hrtime.bigint() - start));
  }
  return median(out);
}

const call = { schema: input.schema, policies: { staticPolicies: input.policies }, validationSettings: { mode: 'strict' } };
const answer = cedar.validate(call);
if (answer.type !== 'success') throw new Error(JSON.stringify(answer.errors));
const json = cedar.schemaToJson(input.schema);
if (json.type !== 'success') throw new Error(JSON.stringify(json.errors));
const validateNs = time(input.validateIterations, () => cedar.validate(call));
const parseSchemaNs = time(input.parseIterations, () => cedar.checkParseSchema(input.schema));
const parseJsonSchemaNs = time(input.parseIterations, () => cedar.checkParseSchema(json.json));
process.stdout.write(JSON.stringify({
  version: cedar.getCedarVersion(),
  validateNs,
  parseSchemaNs,
  parseJsonSchemaNs,
  errors: answer.validationErrors.length,
  warnings: answer.validationWarnings.length,
  json: JSON.stringify(json.json),
}));
