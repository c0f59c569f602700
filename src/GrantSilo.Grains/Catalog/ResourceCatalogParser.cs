using System.Text.Json;

namespace GrantSilo.Grains.Catalog;

/// <summary>
/// Parses and validates catalog text (JSON, docs/resource-catalog.md):
/// <code>
/// { "entries": [ { "type": "repo", "path": "acme/payments/*", "classification": "confidential",
///                  "environment": "production", "owner": "person:alice@acme.dev" } ] }
/// </code>
/// Every problem is a typed refusal (<see cref="ResourceCatalogProblem"/> as the error's detail code) naming the
/// entry (<c>entries[3]</c>) and what to fix; unknown fields are refused, so a misspelt label is never ignored.
/// </summary>
internal static class ResourceCatalogParser
{
    /// <summary>The longest catalog text accepted, in characters (the active text is part of the policy store's state).</summary>
    public const int MaxTextLength = 256 * 1024;

    /// <summary>The most entries one catalog may have.</summary>
    public const int MaxEntries = 5_000;

    /// <summary>The longest environment label accepted.</summary>
    public const int MaxEnvironmentLength = 64;

    private static readonly string[] Fields = ["type", "path", "classification", "environment", "owner"];

    /// <summary>The entries of a catalog text, or the first problem found.</summary>
    public static GrantResult<IReadOnlyList<ResourceCatalogEntry>> Parse(string? text)
    {
        if (text is null || text.Length > MaxTextLength)
        {
            return Fail(ResourceCatalogProblem.TooLarge, $"The catalog text must be present and at most {MaxTextLength} characters; it is {text?.Length ?? 0}.");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 8 });
        }
        catch (JsonException exception)
        {
            var line = (int)(exception.LineNumber ?? 0) + 1;
            var column = (int)(exception.BytePositionInLine ?? 0) + 1;
            return new GrantError(GrantErrorCode.InvalidArgument, $"The catalog is not valid JSON at line {line}, column {column}.")
            {
                DetailCode = nameof(ResourceCatalogProblem.NotJson),
                Position = new TextPosition(OffsetOf(text, line, column), line, column),
            };
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Fail(ResourceCatalogProblem.WrongShape, "The catalog must be a JSON object with an \"entries\" array.");
            }
            JsonElement? entries = null;
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name != "entries")
                {
                    return Fail(ResourceCatalogProblem.UnknownField, $"The catalog has an unknown field '{Untrusted.Id(property.Name)}'; it holds only \"entries\".");
                }
                entries = property.Value;
            }
            if (entries is not { } list)
            {
                return Fail(ResourceCatalogProblem.MissingField, "The catalog has no \"entries\" array (publish { \"entries\": [] } for a catalog that knows no resource).");
            }
            if (list.ValueKind != JsonValueKind.Array)
            {
                return Fail(ResourceCatalogProblem.WrongShape, "The catalog's \"entries\" must be an array.");
            }
            var count = list.GetArrayLength();
            if (count > MaxEntries)
            {
                return Fail(ResourceCatalogProblem.TooLarge, $"The catalog has {count} entries; the limit is {MaxEntries}.");
            }
            var parsed = new List<ResourceCatalogEntry>(count);
            var seen = new Dictionary<(string, string), int>();
            var index = 0;
            foreach (var element in list.EnumerateArray())
            {
                var entry = ParseEntry(element, index);
                if (!entry.IsSuccess)
                {
                    return entry.Error;
                }
                var key = (entry.Value.Type, entry.Value.Path.Text);
                if (seen.TryGetValue(key, out var first))
                {
                    return Fail(ResourceCatalogProblem.DuplicatePattern, $"Entry {index} ({entry.Value}) repeats the type and path of entry {first}; each type and path pattern may appear once.", index);
                }
                seen[key] = index;
                parsed.Add(entry.Value);
                index++;
            }
            return GrantResult<IReadOnlyList<ResourceCatalogEntry>>.Ok(parsed);
        }
    }

    private static GrantResult<ResourceCatalogEntry> ParseEntry(JsonElement element, int index)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return Fail(ResourceCatalogProblem.WrongShape, $"Entry {index} must be an object with \"type\", \"path\" and \"classification\".", index);
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!Fields.Contains(property.Name, StringComparer.Ordinal))
            {
                return Fail(ResourceCatalogProblem.UnknownField, $"Entry {index} has an unknown field '{Untrusted.Id(property.Name)}'; an entry has {string.Join(", ", Fields)}.", index);
            }
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                return Fail(ResourceCatalogProblem.WrongShape, $"Entry {index}'s \"{property.Name}\" must be a string.", index);
            }
            values[property.Name] = property.Value.GetString()!;
        }
        foreach (var required in (ReadOnlySpan<string>)["type", "path", "classification"])
        {
            if (!values.ContainsKey(required))
            {
                return Fail(ResourceCatalogProblem.MissingField, $"Entry {index} has no \"{required}\".", index);
            }
        }
        var type = values["type"];
        if (!Permission.IsName(type, allowWildcard: true))
        {
            return Fail(ResourceCatalogProblem.InvalidType, $"Entry {index}'s type '{Untrusted.Id(type)}' must be '*' or 1-{Permission.MaxNameLength} characters of a-z, 0-9, '.', '-' or '_', starting with a letter or digit.", index);
        }
        var path = ResourcePattern.Parse(values["path"]);
        if (!path.IsSuccess)
        {
            return Fail(ResourceCatalogProblem.InvalidPattern, $"Entry {index}'s path is not a resource pattern: {path.Error.Message}", index);
        }
        if (!TryClassification(values["classification"], out var classification))
        {
            return Fail(ResourceCatalogProblem.InvalidClassification, $"Entry {index} ({type} {path.Value.Text}) has classification '{Untrusted.Id(values["classification"])}'; write public, internal, confidential or restricted.", index);
        }
        string? environment = null;
        if (values.TryGetValue("environment", out var environmentText))
        {
            if (!Canonical.TryCanonicalize(environmentText, MaxEnvironmentLength, out var canonical, out var problem) || canonical.Length == 0)
            {
                return Fail(ResourceCatalogProblem.InvalidEnvironment, $"Entry {index} ({type} {path.Value.Text}) has an environment that {problem ?? "is empty"}; write a label such as production, staging or dev (at most {MaxEnvironmentLength} characters).", index);
            }
            environment = canonical;
        }
        string? owner = null;
        if (values.TryGetValue("owner", out var ownerText))
        {
            var canonical = Canonical.Identifier(ownerText, "Owner");
            if (!canonical.IsSuccess || canonical.Value.Length > ResourceRef.MaxAttributeValueLength)
            {
                return Fail(ResourceCatalogProblem.InvalidOwner, $"Entry {index} ({type} {path.Value.Text}) has an owner that is not a canonical identifier of at most {ResourceRef.MaxAttributeValueLength} characters (such as person:alice@acme.dev).", index);
            }
            owner = canonical.Value;
        }
        return new ResourceCatalogEntry(index, type, path.Value, classification, environment, owner);
    }

    // Only the four names, in any letter case; never a number (an enum parse would take "3" or "2, 1").
    private static bool TryClassification(string text, out DataClassification classification)
    {
        foreach (var value in Enum.GetValues<DataClassification>())
        {
            if (string.Equals(text, value.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                classification = value;
                return true;
            }
        }
        classification = default;
        return false;
    }

    private static int OffsetOf(string text, int line, int column)
    {
        var offset = 0;
        for (var l = 1; l < line && offset < text.Length; l++)
        {
            var next = text.IndexOf('\n', offset);
            if (next < 0)
            {
                break;
            }
            offset = next + 1;
        }
        return Math.Min(offset + column - 1, text.Length);
    }

    private static GrantError Fail(ResourceCatalogProblem problem, string message, int? entry = null) =>
        new(GrantErrorCode.InvalidArgument, message, target: entry is { } i ? $"entries[{i}]" : null)
        {
            DetailCode = problem.ToString(),
        };
}
