// A GrantSilo agent written in JavaScript, using nothing but fetch (Node 20 or later): it does an agent's part of the
// walkthrough over GrantSilo's HTTP API (docs/http-api.md).
//
//   GRANTSILO_URL    the API, for example http://127.0.0.1:8080
//   AGENT_ID         the agent's workload id (its SPIFFE ID)
//   AGENT_JWT        the agent's JWT-SVID, from its SPIFFE workload API
//   TASK_ID          the task the agent was assigned
//   RESOURCE_TYPE, RESOURCE_PATH, ACTION   what the agent will ask its gateway to do (default repo acme/README.md read)
//
// It opens a session, gets a short-lived credential for the task, hands it to the tool gateway it works through
// (here it only shows that it has one: a credential token is a secret and is never printed), and ends the session,
// which ends the credential. It prints one JSON line with what it did; it exits 1 with the problem's title and
// detail when GrantSilo refuses something.

const base = required("GRANTSILO_URL").replace(/\/$/, "");
const agent = required("AGENT_ID");
const svid = required("AGENT_JWT");
const taskId = required("TASK_ID");

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set.`);
    process.exit(2);
  }
  return value;
}

// Calls the API as the agent; a refusal is an RFC 9457 problem whose title and detail say what to do.
async function call(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${svid}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json();
  if (!response.ok) {
    const problem = new Error(`${answer.title} (${response.status}, ${answer.code ?? answer.type}): ${answer.detail}`);
    problem.status = response.status;
    throw problem;
  }
  return answer;
}

try {
  const session = await call("POST", "/v1/sessions", { agent, idleTimeout: "00:05:00" });
  const credential = await call("POST", `/v1/sessions/${encodeURIComponent(session.sessionId)}/credentials`, { taskId, lifetime: "00:02:00" });
  // credential.token goes to the gateway in the agent's requests (for example an Authorization header); never to a log.
  const task = await call("GET", `/v1/tasks/${encodeURIComponent(taskId)}`);
  const ended = await call("POST", `/v1/sessions/${encodeURIComponent(session.sessionId)}/end`, { reason: "work done" });
  console.log(JSON.stringify({
    agent,
    taskId,
    taskStatus: task.status,
    sessionId: session.sessionId,
    credentialId: credential.credentialId,
    credentialExpiresAt: credential.expiresAt,
    permissions: credential.scope.permissions,
    sessionStatus: ended.status,
  }));
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
