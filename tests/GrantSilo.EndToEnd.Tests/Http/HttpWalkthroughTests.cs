using System.Net;
using System.Text.Json;

namespace GrantSilo.EndToEnd.Tests.Http;

/// <summary>
/// The walkthrough (operator, orchestrator, planner, worker, gateway, approver) against a real silo-host process, driven
/// only through its HTTP API: the /v1 endpoints and the AuthZEN decision API.
/// </summary>
[Collection(HttpSiloCollection.Name)]
public sealed class HttpWalkthroughTests(HttpSilo silo)
{
    private static object Scope(int depth, params string[] permissions) => new { permissions, maxClassification = "internal", delegationDepth = depth };

    private static string Segment(string workloadId) => Uri.EscapeDataString(workloadId);

    [Fact]
    public async Task Walkthrough_OverHttpOnly_DelegatesDecidesStepsUpAndRevokes()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var planner = $"spiffe://e2e.dev/{run}/planner";
        var worker = $"spiffe://e2e.dev/{run}/worker";
        var alice = $"alice-{run}@test.dev";
        var operatorToken = silo.Operator();
        var orchestrator = silo.Identity.ServiceToken($"orchestrator-{run}", "orchestrator");
        var gateway = silo.Identity.ServiceToken($"gateway-{run}", "gateway");
        var approver = silo.Identity.PersonToken(alice, "approver");
        var plannerToken = silo.Identity.AgentToken(planner);
        var workerToken = silo.Identity.AgentToken(worker);

        // The operator registers both agents.
        foreach (var (agent, depth) in new[] { (planner, 1), (worker, 0) })
        {
            var registered = await silo.SendAsync(HttpMethod.Post, "/v1/agents", operatorToken, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = Scope(depth, "repo:read:acme/*", "secret:read:*") });
            Assert.True(registered.Status == HttpStatusCode.Created, registered.ToString());
            Assert.Equal(agent, registered["workloadId"]);
        }
        var fetched = await silo.SendAsync(HttpMethod.Get, $"/v1/agents/{Segment(planner)}", operatorToken);
        Assert.True(fetched.Status == HttpStatusCode.OK, fetched.ToString());
        Assert.Equal("active", fetched["status"]);

        // The orchestrator creates a root task for alice, assigned to the planner.
        var task = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", orchestrator, new { person = $"person:{alice}", agent = planner, scope = Scope(1, "repo:read:acme/*", "secret:read:*"), lifetime = "00:10:00", purpose = "summarise the payments repo" });
        Assert.True(task.Status == HttpStatusCode.Created, task.ToString());
        var rootId = task["taskId"]!;

        // The planner opens a session, gets a credential, and delegates a narrower child to the worker with it as proof.
        var plannerSession = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", plannerToken, new { agent = planner });
        Assert.True(plannerSession.Status == HttpStatusCode.Created, plannerSession.ToString());
        var plannerCredential = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{plannerSession["sessionId"]}/credentials", plannerToken, new { taskId = rootId });
        Assert.True(plannerCredential.Status == HttpStatusCode.Created, plannerCredential.ToString());
        var child = await silo.SendAsync(HttpMethod.Post, $"/v1/tasks/{rootId}/delegations", plannerToken, new { proofToken = plannerCredential["token"], agent = worker, scope = Scope(0, "repo:read:acme/*", "secret:read:*"), lifetime = "00:05:00" });
        Assert.True(child.Status == HttpStatusCode.Created, child.ToString());
        var childId = child["taskId"]!;
        // Wider than the parent: refused, naming the permission.
        var wider = await silo.SendAsync(HttpMethod.Post, $"/v1/tasks/{rootId}/delegations", plannerToken, new { proofToken = plannerCredential["token"], agent = worker, scope = Scope(0, "repo:write:acme/*"), lifetime = "00:05:00" });
        Assert.Equal(HttpStatusCode.UnprocessableEntity, wider.Status);
        Assert.Equal("urn:grantsilo:problem:scope-exceeds-parent", wider["type"]);
        Assert.Equal("repo:write:acme/*", wider["permission"]);
        Assert.DoesNotContain(plannerCredential["token"]!, wider.Text, StringComparison.Ordinal);

        // The worker gets its own credential for the child task.
        var workerSession = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", workerToken, new { agent = worker });
        var workerCredential = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{workerSession["sessionId"]}/credentials", workerToken, new { taskId = childId });
        Assert.True(workerCredential.Status == HttpStatusCode.Created, workerCredential.ToString());
        var token = workerCredential["token"]!;

        // The gateway decides, through /v1/authorize and through AuthZEN.
        var document = new { type = "repo", path = "acme/payments/README.md" };
        var allowed = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, new { token, action = "read", resource = document });
        Assert.True(allowed.Status == HttpStatusCode.OK, allowed.ToString());
        Assert.Equal("allow", allowed["kind"]);
        var evaluation = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, new
        {
            subject = new { type = "credential", id = token },
            action = new { name = "read" },
            resource = new { type = "repo", id = "acme/payments/README.md" },
        });
        Assert.True(evaluation.Status == HttpStatusCode.OK, evaluation.ToString());
        Assert.Equal("true", evaluation["decision"]);
        Assert.DoesNotContain(token, evaluation.Text, StringComparison.Ordinal);
        var write = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, new
        {
            subject = new { type = "credential", id = token },
            action = new { name = "write" },
            resource = new { type = "repo", id = "acme/payments/README.md" },
        });
        Assert.Equal("false", write["decision"]);
        Assert.Equal("scope_does_not_cover", write.Json.GetProperty("context").GetProperty("reason").GetString());

        // Reading a secret needs a person's approval: a false decision naming the approval.
        var secret = new { type = "secret", id = "payments/db-password" };
        var stepUp = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, new { subject = new { type = "credential", id = token }, action = new { name = "read" }, resource = secret });
        Assert.Equal("false", stepUp["decision"]);
        var context = stepUp.Json.GetProperty("context");
        Assert.Equal("step_up_required", context.GetProperty("reason").GetString());
        var approvalId = context.GetProperty("approval_id").GetString()!;

        // The worker may not approve its own request; alice, the task's person with the approver role, does.
        var self = await silo.SendAsync(HttpMethod.Post, $"/v1/approvals/{approvalId}/approve", workerToken, new { comment = "me" });
        Assert.Equal(HttpStatusCode.Forbidden, self.Status);
        var pending = await silo.SendAsync(HttpMethod.Get, "/v1/approvals", approver);
        Assert.True(pending.Status == HttpStatusCode.OK, pending.ToString());
        var approved = await silo.SendAsync(HttpMethod.Post, $"/v1/approvals/{approvalId}/approve", approver, new { comment = "ticket PAY-1" });
        Assert.True(approved.Status == HttpStatusCode.OK, approved.ToString());
        Assert.Equal("approved", approved["status"]);
        Assert.Equal($"person:{alice}", approved["decidedBy"]);

        // The retry with the approval in the context is allowed once.
        var retry = new { subject = new { type = "credential", id = token }, action = new { name = "read" }, resource = secret, context = new { approval_id = approvalId } };
        Assert.Equal("true", (await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, retry)).Json.GetProperty("decision").GetRawText());
        Assert.Equal("false", (await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, retry)).Json.GetProperty("decision").GetRawText());

        // The operator revokes the root task: its child and the worker's credential end with it (the grains' own onward calls).
        var revoked = await silo.SendAsync(HttpMethod.Post, $"/v1/tasks/{rootId}/revoke", operatorToken, new { reason = "walkthrough over" });
        Assert.True(revoked.Status == HttpStatusCode.OK, revoked.ToString());
        Assert.Equal("revoked", revoked["status"]);
        var after = await silo.SendAsync(HttpMethod.Post, "/v1/authorize", gateway, new { token, action = "read", resource = document });
        Assert.Equal("deny", after["kind"]);
        var tree = await silo.SendAsync(HttpMethod.Get, $"/v1/tasks/{rootId}/tree", operatorToken);
        Assert.True(tree.Status == HttpStatusCode.OK, tree.ToString());
        var children = tree.Json.GetProperty("children");
        Assert.Equal(1, children.GetArrayLength());
        Assert.Equal("revoked", children[0].GetProperty("task").GetProperty("status").GetString());
        var cascades = await silo.SendAsync(HttpMethod.Get, "/v1/cascades/pending", operatorToken);
        Assert.True(cascades.Status == HttpStatusCode.OK, cascades.ToString());
        Assert.Equal(JsonValueKind.Array, cascades.Json.ValueKind);
        Assert.DoesNotContain(rootId, cascades.Text, StringComparison.Ordinal);

        // No token ever reached the silo's log.
        Assert.DoesNotContain(token, silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(plannerCredential["token"]!, silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(operatorToken, silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthZen_Evaluations_AllThreeSemantics_AndDiscovery()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var agent = $"spiffe://e2e.dev/{run}/reader";
        var operatorToken = silo.Operator();
        var gateway = silo.Identity.ServiceToken($"gateway-{run}", "gateway");
        Assert.Equal(HttpStatusCode.Created, (await silo.SendAsync(HttpMethod.Post, "/v1/agents", operatorToken, new { workloadId = agent, owner = "person:ops@test.dev", ceiling = Scope(0, "repo:read:acme/*") })).Status);
        var task = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", silo.Identity.ServiceToken($"orchestrator-{run}", "orchestrator"), new { person = "person:bob@test.dev", agent, scope = Scope(0, "repo:read:acme/*"), lifetime = "00:10:00" });
        var agentToken = silo.Identity.AgentToken(agent);
        var session = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", agentToken, new { agent });
        var credential = await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{session["sessionId"]}/credentials", agentToken, new { taskId = task["taskId"] });
        Assert.True(credential.Status == HttpStatusCode.Created, credential.ToString());
        var token = credential["token"]!;

        // Defaults at the top; the second evaluation is a deny (outside the scope), the others allows.
        object Batch(string? semantic) => new
        {
            subject = new { type = "credential", id = token },
            action = new { name = "read" },
            evaluations = new object[]
            {
                new { resource = new { type = "repo", id = "acme/a.md" } },
                new { resource = new { type = "repo", id = "other/b.md" } },
                new { resource = new { type = "repo", id = "acme/c.md" } },
            },
            options = semantic is null ? null : new { evaluations_semantic = semantic },
        };
        static bool[] Decisions(HttpAnswer answer) => [.. answer.Json.GetProperty("evaluations").EnumerateArray().Select(e => e.GetProperty("decision").GetBoolean())];

        var all = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluations", gateway, Batch(null));
        Assert.True(all.Status == HttpStatusCode.OK, all.ToString());
        Assert.Equal(new[] { true, false, true }, Decisions(all));
        Assert.Equal(new[] { true, false, true }, Decisions(await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluations", gateway, Batch("execute_all"))));
        Assert.Equal(new[] { true, false }, Decisions(await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluations", gateway, Batch("deny_on_first_deny"))));
        Assert.Equal(new[] { true }, Decisions(await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluations", gateway, Batch("permit_on_first_permit"))));
        var unknown = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluations", gateway, Batch("first_wins"));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.Status);
        Assert.Equal("$.options.evaluations_semantic", unknown["field"]);

        // An evaluation whose subject is not a credential is a false decision with its error, not a failed batch.
        var mixed = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluations", gateway, new
        {
            action = new { name = "read" },
            resource = new { type = "repo", id = "acme/a.md" },
            evaluations = new object[] { new { subject = new { type = "credential", id = token } }, new { subject = new { type = "user", id = "alice" } } },
        });
        Assert.Equal(new[] { true, false }, Decisions(mixed));
        Assert.Equal(400, mixed.Json.GetProperty("evaluations")[1].GetProperty("context").GetProperty("error").GetProperty("status").GetInt32());

        // Without evaluations, a batch request is one evaluation, answered as one; the request id comes back.
        using var single = new HttpRequestMessage(HttpMethod.Post, new Uri("/access/v1/evaluations", UriKind.Relative))
        {
            Content = new StringContent(JsonSerializer.Serialize(new { subject = new { type = "credential", id = token }, action = new { name = "read" }, resource = new { type = "repo", id = "acme/a.md" } }), System.Text.Encoding.UTF8, "application/json"),
        };
        single.Headers.Authorization = new("Bearer", gateway);
        single.Headers.Add("X-Request-ID", "req-42");
        using var answer = await silo.Http.SendAsync(single);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("req-42", answer.Headers.GetValues("X-Request-ID").Single());
        Assert.True(JsonDocument.Parse(await answer.Content.ReadAsStringAsync()).RootElement.GetProperty("decision").GetBoolean());

        var discovery = await silo.SendAsync(HttpMethod.Get, "/.well-known/authzen-configuration", null);
        Assert.Equal(HttpStatusCode.OK, discovery.Status);
        var pdp = discovery["policy_decision_point"]!;
        Assert.Equal(pdp + "/access/v1/evaluation", discovery["access_evaluation_endpoint"]);
        Assert.Equal(pdp + "/access/v1/evaluations", discovery["access_evaluations_endpoint"]);
    }
    [Fact]
    public async Task AuthZen_RequestsShapedAsTheSpecificationsExamples_AreAnswered_AndABadEntryIsItsOwnError()
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        var agent = $"spiffe://e2e.dev/{run}/reader";
        var gateway = silo.Identity.ServiceToken($"gateway-{run}", "gateway");
        Assert.Equal(HttpStatusCode.Created, (await silo.SendAsync(HttpMethod.Post, "/v1/agents", silo.Operator(), new { workloadId = agent, owner = "person:ops@test.dev", ceiling = Scope(0, "document:read:*") })).Status);
        var task = await silo.SendAsync(HttpMethod.Post, "/v1/tasks", silo.Identity.ServiceToken($"orchestrator-{run}", "orchestrator"), new { person = "person:bob@test.dev", agent, scope = Scope(0, "document:read:*"), lifetime = "00:10:00" });
        var agentToken = silo.Identity.AgentToken(agent);
        var session = await silo.SendAsync(HttpMethod.Post, "/v1/sessions", agentToken, new { agent });
        var token = (await silo.SendAsync(HttpMethod.Post, $"/v1/sessions/{session["sessionId"]}/credentials", agentToken, new { taskId = task["taskId"] }))["token"]!;

        // The specification's single evaluation (its action names GrantSilo's), its subject the credential: the subject's and the action's properties
        // (any JSON) and a context are taken and not decided on; the answer is { "decision": bool, "context": {...} }.
        var one = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, new
        {
            subject = new { type = "credential", id = token, properties = new { department = "Sales", device = new { id = "8:65:ee:17:7e:0b", managed = true } } },
            resource = new { type = "document", id = "123" },
            action = new { name = "read", properties = new { method = "GET" } },
            context = new { time = "1985-10-26T01:22-07:00" },
        });
        Assert.True(one.Status == HttpStatusCode.OK, one.ToString());
        Assert.True(one.Json.GetProperty("decision").GetBoolean(), one.ToString());
        Assert.Equal(JsonValueKind.Object, one.Json.GetProperty("context").ValueKind);
        Assert.Equal(["context", "decision"], one.Json.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        // The specification's batch: defaults for subject, action and context; an evaluation overriding the action; the
        // semantic in options. The second entry lacks its resource's id: that entry alone is false with its error.
        var batch = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluations", gateway, new
        {
            subject = new { type = "credential", id = token },
            action = new { name = "read" },
            context = new { time = "2024-05-31T15:22-07:00" },
            options = new { evaluations_semantic = "execute_all" },
            evaluations = new object[]
            {
                new { resource = new { type = "document", id = "boxcarring.md" } },
                new { resource = new { type = "document" } },
                new { action = new { name = "write" }, resource = new { type = "document", id = "resource-search.md" } },
            },
        });
        Assert.True(batch.Status == HttpStatusCode.OK, batch.ToString());
        var evaluations = batch.Json.GetProperty("evaluations").EnumerateArray().ToArray();
        Assert.Equal(3, evaluations.Length);
        Assert.True(evaluations[0].GetProperty("decision").GetBoolean());
        Assert.False(evaluations[1].GetProperty("decision").GetBoolean());
        var error = evaluations[1].GetProperty("context").GetProperty("error");
        Assert.Equal(400, error.GetProperty("status").GetInt32());
        Assert.Equal("$.evaluations[1].resource.id", error.GetProperty("field").GetString());
        Assert.False(evaluations[2].GetProperty("decision").GetBoolean());
        Assert.Equal("scope_does_not_cover", evaluations[2].GetProperty("context").GetProperty("reason").GetString());

        // A single evaluation missing a required member is a problem naming it.
        var noId = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, new { subject = new { type = "credential" }, resource = new { type = "document", id = "123" }, action = new { name = "read" } });
        Assert.Equal(HttpStatusCode.BadRequest, noId.Status);
        Assert.Equal("$.subject.id", noId["field"]);
        var noName = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, new { subject = new { type = "credential", id = token }, resource = new { type = "document", id = "123" }, action = new { } });
        Assert.Equal(HttpStatusCode.BadRequest, noName.Status);
        Assert.Equal("$.action.name", noName["field"]);

        // The specification's resource with a structured property: a resource property is an attribute the policy may
        // read, and one GrantSilo cannot represent is refused with its field, never dropped.
        var structured = await silo.SendAsync(HttpMethod.Post, "/access/v1/evaluation", gateway, new
        {
            subject = new { type = "credential", id = token },
            resource = new { type = "book", id = "123", properties = new { library_record = new { title = "AuthZEN in Action", isbn = "978-0593383322" } } },
            action = new { name = "read" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, structured.Status);
        Assert.Equal("$.resource.properties.library_record", structured["field"]);
        Assert.DoesNotContain(token, structured.Text, StringComparison.Ordinal);
    }
}
