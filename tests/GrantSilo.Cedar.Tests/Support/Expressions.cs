using GrantSilo.Cedar.Evaluation;
using GrantSilo.Cedar.Parsing;
using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar.Tests.Support;

/// <summary>Helpers to evaluate single expressions and small policy sets.</summary>
internal static class Expressions
{
    public static readonly EntityUid Alice = new("User", "alice");
    public static readonly EntityUid Read = new("Action", "read");
    public static readonly EntityUid Doc = new("Doc", "d1");

    /// <summary>Evaluates an expression; returns the value or the error message.</summary>
    public static (CedarValue? Value, string? Error) Eval(string expression, EntityStore? entities = null, CedarValue? context = null)
    {
        var expr = Parser.ParseExpression(expression);
        var ctx = new EvalContext(Alice, Read, Doc, (RecordValue)(context ?? CedarValue.EmptyRecord), entities ?? EntityStore.Empty);
        var v = expr.Eval(ctx);
        return (v, v is null ? ctx.Error : null);
    }

    public static CedarValue Value(string expression, EntityStore? entities = null, CedarValue? context = null)
    {
        var (v, error) = Eval(expression, entities, context);
        Assert.True(v is not null, $"`{expression}` failed: {error}");
        return v!;
    }

    public static bool True(string expression, EntityStore? entities = null, CedarValue? context = null) =>
        Value(expression, entities, context) is BoolValue { Value: true };

    public static string Error(string expression, EntityStore? entities = null, CedarValue? context = null)
    {
        var (v, error) = Eval(expression, entities, context);
        Assert.True(v is null, $"`{expression}` should fail but gave {v}");
        return error!;
    }

    public static AuthorizationResponse Authorize(string policies, EntityStore? entities = null, EntityUid? principal = null, EntityUid? action = null, EntityUid? resource = null, CedarValue? context = null) =>
        new Authorizer(PolicySet.Parse(policies)).IsAuthorized(
            new AuthorizationRequest(principal ?? Alice, action ?? Read, resource ?? Doc, context),
            entities ?? EntityStore.Empty);
}
