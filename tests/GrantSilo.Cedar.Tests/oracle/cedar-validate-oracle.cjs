// Reference validation verdicts from @cedar-policy/cedar-wasm for GrantSilo's differential tests.
// Input (stdin): JSON array of cases { "schema": "<cedarschema text>", "policies": "<cedar text>" | null, "json": bool?,
//   "policyList": ["<one policy or template>", ...]? }. With "policyList", entry i gets the id `policy{i}` and entries
//   with a `?principal`/`?resource` slot are passed as templates.
// Output (stdout): JSON array, one entry per case, in order:
//   { "schemaOk": bool, "errors": [policy ids with validation errors, sorted], "failure": "<message>"?,
//     "json": "<the schema in Cedar's JSON format, from schemaToJson>"? }
// With "policies": null only the schema is parsed.
'use strict';
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

function check(c) {
  if (c.json) {
    // The schema is JSON text: invalid JSON is a rejected schema.
    let value;
    try { value = JSON.parse(c.schema); } catch (e) { return { schemaOk: false, errors: [] }; }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { schemaOk: false, errors: [] };
    return { schemaOk: cedar.checkParseSchema(value).type === 'success', errors: [] };
  }
  const parsed = cedar.checkParseSchema(c.schema);
  if (parsed.type !== 'success') {
    return { schemaOk: false, errors: [] };
  }
  const converted = cedar.schemaToJson(c.schema);
  const json = converted.type === 'success' ? JSON.stringify(converted.json) : undefined;
  if (c.policies === null || c.policies === undefined) {
    return { schemaOk: true, errors: [], json };
  }
  let policies = { staticPolicies: c.policies };
  if (c.policyList) {
    const staticPolicies = {};
    const templates = {};
    c.policyList.forEach((p, i) => { (/\?(principal|resource)/.test(p) ? templates : staticPolicies)[`policy${i}`] = p; });
    policies = { staticPolicies, templates };
  }
  const answer = cedar.validate({
    schema: c.schema,
    policies,
    validationSettings: { mode: 'strict' },
  });
  if (answer.type !== 'success') {
    return { schemaOk: true, errors: [], failure: answer.errors.map((e) => e.message).join('; ') };
  }
  const ids = [...new Set(answer.validationErrors.map((e) => e.policyId))].sort();
  return { schemaOk: true, errors: ids, json, messages: answer.validationErrors.map((e) => `${e.policyId}: ${e.error.message}`) };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  process.stdout.write(JSON.stringify(cases.map((c) => {
    try {
      return check(c);
    } catch (e) {
      return { schemaOk: false, errors: [], failure: String(e) };
    }
  })));
});
