using System.Collections;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GrantSilo.Http;

/// <summary>
/// Names the body member at fault in a validation problem GrantSilo returned for a request body (<c>field</c>, a JSON
/// path such as <c>$.lifetime</c>): the errors come from the SDK and the grains, which know the value they refused (the
/// error's <c>target</c>) but not the member of this operation's body that held it.
/// </summary>
internal static class Fields
{
    public static IResult Name<TBody>(IResult result, TBody body) where TBody : class
    {
        if (result is not ProblemHttpResult { ProblemDetails: var problem } || problem.Extensions.ContainsKey("field")
            || problem.Extensions.TryGetValue("code", out var codeValue) is false || codeValue is not string code || !Enum.TryParse<GrantErrorCode>(code, out var error) || !IsValidation(error))
        {
            return result;
        }
        var target = problem.Extensions.TryGetValue("target", out var targetValue) ? targetValue as string : null;
        if (Find(body, error, target, problem.Detail) is { } member)
        {
            problem.Extensions["field"] = "$." + member;
        }
        return result;
    }

    private static bool IsValidation(GrantErrorCode code) => code is GrantErrorCode.InvalidArgument or GrantErrorCode.InvalidIdentifier
        or GrantErrorCode.InvalidScope or GrantErrorCode.ScopeTooLarge or GrantErrorCode.LifetimeInvalid;

    // The member named by the target, else the one holding the refused value, else (no target) the one the code is about.
    private static string? Find<TBody>(TBody body, GrantErrorCode code, string? target, string? detail)
    {
        var members = HttpJson.Options.GetTypeInfo(typeof(TBody)).Properties.Where(p => p.Get is not null).ToList();
        if (target is { Length: > 0 })
        {
            // A member named by the target as a person would write it: "Task id" for taskId.
            var spoken = target.StartsWith("A ", StringComparison.Ordinal) ? target[2..] : target.StartsWith("An ", StringComparison.Ordinal) ? target[3..] : target;
            spoken = spoken.Replace(" ", "", StringComparison.Ordinal);
            if (members.FirstOrDefault(p => string.Equals(p.Name, spoken, StringComparison.OrdinalIgnoreCase)) is { } named)
            {
                return named.Name;
            }
            foreach (var member in members)
            {
                if (Holds(member.Get!(body!), target))
                {
                    return member.Name;
                }
            }
        }
        return code switch
        {
            GrantErrorCode.LifetimeInvalid => One(members, detail?.Contains("checkpoint", StringComparison.OrdinalIgnoreCase) == true ? "checkpoint" : detail?.Contains("idle", StringComparison.OrdinalIgnoreCase) == true ? "idle" : "lifetime", body),
            GrantErrorCode.InvalidScope or GrantErrorCode.ScopeTooLarge => One(members, "scope", body),
            _ => null,
        };
    }

    // The one member given a value whose name holds the word: none or several name nothing.
    private static string? One<TBody>(List<JsonPropertyInfo> members, string word, TBody body)
    {
        var given = members.Where(p => p.Name.Contains(word, StringComparison.OrdinalIgnoreCase) && p.Get!(body!) is not null).ToList();
        return given.Count == 1 ? given[0].Name : null;
    }

    private static bool Holds(object? value, string target) => value switch
    {
        string text => string.Equals(text, target, StringComparison.Ordinal),
        IEnumerable<string> texts => texts.Contains(target, StringComparer.Ordinal),
        _ => false,
    };
}
