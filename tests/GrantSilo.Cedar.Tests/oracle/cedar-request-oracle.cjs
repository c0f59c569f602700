// Reference request validation from @cedar-policy/cedar-wasm: is a request valid for a schema?
// Input (stdin): JSON array of { "schema": "<cedarschema>", "principal": {type,id}, "action": {...}, "resource": {...}, "context": {...} }
// Output (stdout): JSON array of { "valid": bool, "message": "..." }: isAuthorized with validateRequest (and the
// schema's reading of the context) succeeds or fails.
'use strict';
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  process.stdout.write(JSON.stringify(cases.map((c) => {
    try {
      const answer = cedar.isAuthorized({
        principal: c.principal, action: c.action, resource: c.resource, context: c.context,
        policies: { staticPolicies: '' }, entities: [], schema: c.schema, validateRequest: true,
      });
      return { valid: answer.type === 'success', message: answer.type === 'success' ? '' : answer.errors.map((e) => e.message).join('; ') };
    } catch (e) {
      return { valid: false, message: String(e) };
    }
  })));
});
