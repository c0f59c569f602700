// Reference decisions from @cedar-policy/cedar-wasm for GrantSilo's differential tests.
// Input (stdin): JSON array of cases
//   { "policies": "<cedar text>", "entities": [...], "principal": {type,id}, "action": {...},
//     "resource": {...}, "context": {...} }
// Output (stdout): JSON array, one entry per case, in order:
//   { "decision": "allow"|"deny", "reason": [ids], "errors": [ids] }  or  { "failure": "<messages>" }
'use strict';
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

function decide(c) {
  const answer = cedar.isAuthorized({
    principal: c.principal,
    action: c.action,
    resource: c.resource,
    context: c.context ?? {},
    policies: { staticPolicies: c.policies },
    entities: c.entities ?? [],
  });
  if (answer.type !== 'success') {
    return { failure: answer.errors.map((e) => e.message).join('; ') };
  }
  const r = answer.response;
  return {
    decision: r.decision,
    reason: [...r.diagnostics.reason].sort(),
    errors: r.diagnostics.errors.map((e) => e.policyId).sort(),
  };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  const results = cases.map((c) => {
    try {
      return decide(c);
    } catch (e) {
      return { failure: String(e) };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
