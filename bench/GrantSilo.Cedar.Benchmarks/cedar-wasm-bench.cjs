// Times @cedar-policy/cedar-wasm on the GrantSilo policy benchmark workload.
// Usage: node cedar-wasm-bench.cjs WORKLOAD.json ITERATIONS
// The policy set is pre-parsed once (preparsePolicySet); each decision calls statefulIsAuthorized,
// which still converts the entities and context passed with the call, as the wasm API requires.
// Prints one JSON object: per-decision latencies (p50, p99, ns), throughput, and the decisions of the first pass.
'use strict';
const fs = require('fs');
const cedar = require('@cedar-policy/cedar-wasm/nodejs');

const workload = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const iterations = Number(process.argv[3] ?? 20000);
const parsed = cedar.preparsePolicySet('bench', { staticPolicies: workload.policies });
if (parsed.type !== 'success') {
  throw new Error(JSON.stringify(parsed.errors));
}

const requests = workload.requests;
function decide(r) {
  const answer = cedar.statefulIsAuthorized({
    principal: r.principal,
    action: r.action,
    resource: r.resource,
    context: r.context,
    preparsedPolicySetId: 'bench',
    entities: workload.entities,
  });
  if (answer.type !== 'success') {
    throw new Error(JSON.stringify(answer.errors));
  }
  return answer.response;
}

const decisions = requests.map((r) => {
  const response = decide(r);
  return { decision: response.decision, reason: [...response.diagnostics.reason].sort() };
});

for (let i = 0; i < Math.min(iterations, 5000); i++) {
  decide(requests[i % requests.length]);
}

const latencies = new Float64Array(iterations);
for (let i = 0; i < iterations; i++) {
  const start = process.hrtime.bigint();
  decide(requests[i % requests.length]);
  latencies[i] = Number(process.hrtime.bigint() - start);
}
latencies.sort();

const loopStart = process.hrtime.bigint();
for (let i = 0; i < iterations; i++) {
  decide(requests[i % requests.length]);
}
const loopNs = Number(process.hrtime.bigint() - loopStart);

// For reference only: the same calls with an empty entity list, i.e. the cost without converting the 50 entities.
// (Decisions differ, since attributes and hierarchy are missing.)
const bare = new Float64Array(iterations);
for (let i = 0; i < iterations; i++) {
  const r = requests[i % requests.length];
  const start = process.hrtime.bigint();
  cedar.statefulIsAuthorized({
    principal: r.principal, action: r.action, resource: r.resource, context: r.context,
    preparsedPolicySetId: 'bench', entities: [],
  });
  bare[i] = Number(process.hrtime.bigint() - start);
}
bare.sort();

const pick = (q) => latencies[Math.min(iterations - 1, Math.floor(q * iterations))];
process.stdout.write(JSON.stringify({
  version: cedar.getCedarVersion(),
  p50Ns: pick(0.5),
  p99Ns: pick(0.99),
  throughput: iterations / (loopNs / 1e9),
  noEntitiesP50Ns: bare[Math.floor(0.5 * iterations)],
  decisions,
}));
