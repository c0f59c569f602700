using GrantSilo.Grains.Policies;
using GrantSilo.Cedar;

namespace GrantSilo.Grains.Tests;

/// <summary>
/// Policies are validated against the active Cedar schema before they can reach a silo, and the schema
/// itself is published as a versioned operation that can extend, but never drop, what GrantSilo gives Cedar.
/// </summary>
[Collection(ClusterCollection.Name)]
public class PolicySchemaTests(ClusterFixture fixture)
{
    private readonly Scenario _s = new(fixture);

    private Task<GrantResult<PolicyVersionInfo>> Publish(string text) => fixture.Client.PublishPolicyAsync(text, "person:security@test.dev");

    [Fact]
    public void TheDefaultPolicySet_ValidatesAgainstTheShippedSchema()
    {
        var result = new PolicyValidator(GrantSiloSchema.Schema).Validate(PolicyText.Parse(DefaultPolicySet.Text));
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
    }

    [Fact]
    public void TheShippedSchema_DescribesEveryDecisionGrantSiloBuilds()
    {
        Assert.Null(GrantSiloSchema.MissingDeclarations(GrantSiloSchema.Schema));
    }

    [Theory]
    [InlineData("""permit (principal, action, resource) when { context.purpose == "ok" };""", "purpose")]
    [InlineData("""permit (principal, action, resource is Resource) when { resource.clasification == "public" };""", "clasification")]
    [InlineData("""permit (principal, action, resource is Resource) when { resource.classificationLevel == "2" };""", "")]
    [InlineData("""permit (principal, action == Action::"reed", resource);""", "reed")]
    [InlineData("""permit (principal is Agnet, action, resource);""", "Agnet")]
    [InlineData("""permit (principal, action, resource is Resource) when { resource.environment == "prod" };""", "environment")]
    [InlineData("""permit (principal is Person, action == Action::"read", resource is Resource);""", "")]
    public async Task Publish_RefusesAPolicyThatDoesNotValidate_NamingThePolicyAndWhere(string policy, string mentioned)
    {
        var before = (await fixture.Client.GetActivePolicyAsync()).Value.Info.Version;
        var refused = await Publish($"@id(\"ok\") permit (principal, action, resource);\n@id(\"bad\") {policy}");
        Assert.Equal(GrantErrorCode.PolicyInvalid, refused.Error?.Code);
        Assert.Equal("bad", refused.Error!.Target);
        Assert.Equal(2, refused.Error.Position?.Line);
        Assert.Contains(mentioned, refused.Error.Message, StringComparison.Ordinal);
        Assert.NotNull(refused.Error.DetailCode);
        // Nothing changed.
        Assert.Equal(before, (await fixture.Client.GetActivePolicyAsync()).Value.Info.Version);
    }

    [Fact]
    public async Task ASetThatValidates_IsPublishedAndDecidesAsBefore()
    {
        var scope = Scenario.Scope(0, "doc:read:*");
        var agent = await _s.AgentAsync("worker", scope);
        var task = await _s.RootTaskAsync(agent, scope);
        var (_, credential) = await _s.CredentialAsync(agent, task.TaskId);
        var before = await _s.AuthorizeAsync(credential, "read", "doc", "a");
        await using (await PublishedPolicy.PublishAsync(fixture, DefaultPolicySet.Text))
        {
            var after = await _s.AuthorizeAsync(credential, "read", "doc", "a");
            Assert.Equal(before.Kind, after.Kind);
            Assert.Equal(before.DeterminingPolicies, after.DeterminingPolicies);
        }
    }

    [Fact]
    public async Task AnExtendedSchema_IsAVersionedPublish_AndLetsPoliciesUseWhatItAdds()
    {
        const string policy = """@id("audits") permit (principal, action == Action::"audit", resource is Resource);""";
        var refused = await Publish(policy);
        Assert.Equal(GrantErrorCode.PolicyInvalid, refused.Error?.Code);
        Assert.Contains("audit", refused.Error!.Message, StringComparison.Ordinal);

        var active = (await fixture.Client.GetActiveSchemaAsync()).Value.Info.Version;
        await using (var schema = await PublishedSchema.PublishAsync(fixture, PublishedSchema.Extended("\"approve\", ", "\"audit\", ")))
        {
            Assert.True(schema.Version.Version > active);
            Assert.Equal(schema.Version.Version, (await fixture.Client.GetActiveSchemaAsync()).Value.Info.Version);
            await using (await PublishedPolicy.PublishAsync(fixture, DefaultPolicySet.Text + "\n" + policy))
            {
                // The active policy set relies on the extension: a schema without it is refused.
                var dropping = await fixture.Client.PublishSchemaAsync(GrantSiloSchema.Text, "person:security@test.dev");
                Assert.Equal(GrantErrorCode.SchemaInvalid, dropping.Error?.Code);
                Assert.Contains("audits", dropping.Error!.Message, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("entity Agent;", "not describe")]
    [InlineData("entity Person; entity Group; entity Task; entity Session;", "not describe")]
    public async Task PublishSchema_RefusesASchemaThatDropsWhatDecisionsRelyOn(string text, string _)
    {
        var refused = await fixture.Client.PublishSchemaAsync(text, "person:security@test.dev");
        Assert.Equal(GrantErrorCode.SchemaInvalid, refused.Error?.Code);
        Assert.Contains("GrantSilo's decisions", refused.Error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PublishSchema_RefusesTextThatIsNotASchema_WithAPosition()
    {
        var refused = await fixture.Client.PublishSchemaAsync("entity Agent {\n  owner: ,\n};", "person:security@test.dev");
        Assert.Equal(GrantErrorCode.SchemaInvalid, refused.Error?.Code);
        Assert.Equal(2, refused.Error!.Position?.Line);
        Assert.NotNull(refused.Error.DetailCode);
    }
}
