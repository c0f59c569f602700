using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace GrantSilo.Http;

/// <summary>
/// How the HTTP API reads and writes JSON. Strict on input: unknown members, duplicate properties, numbers as strings,
/// integers for enums, nulls where a value is required and nesting deeper than <see cref="MaxDepth"/> are all refused.
/// </summary>
public static class HttpJson
{
    /// <summary>The deepest nesting of a request body.</summary>
    public const int MaxDepth = 32;

    /// <summary>The options every body and answer uses.</summary>
    public static JsonSerializerOptions Options { get; } = Create();

    /// <summary>Applies the API's settings to <paramref name="options"/> (ASP.NET Core's, which OpenAPI reads).</summary>
    public static void Apply(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.PropertyNameCaseInsensitive = false;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
        options.MaxDepth = MaxDepth;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.RespectNullableAnnotations = true;
        options.RespectRequiredConstructorParameters = true;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        options.Converters.Add(new ScopeJsonConverter());
        options.TypeInfoResolver ??= new DefaultJsonTypeInfoResolver();
    }

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Apply(options);
        options.MakeReadOnly();
        return options;
    }
}

/// <summary>
/// A scope on the wire: <c>{"permissions": ["type:action:pattern", ...], "maxClassification": "internal", "delegationDepth": 0}</c>.
/// A scope read from a request is built with <see cref="Scope.Create(IEnumerable{string}?, DataClassification, int)"/>, so it is
/// checked and canonical; a refusal travels as a <see cref="GrantErrorJsonException"/> carrying the typed error.
/// </summary>
public sealed class ScopeJsonConverter : JsonConverter<Scope>
{
    /// <inheritdoc />
    public override Scope? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A scope is an object with permissions, maxClassification and delegationDepth.");
        }
        List<string>? permissions = null;
        var classification = DataClassification.Internal;
        var depth = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                throw new JsonException("A scope is an object.");
            }
            var name = reader.GetString()!;
            if (!seen.Add(name))
            {
                throw new JsonException("A scope names a member twice.");
            }
            reader.Read();
            switch (name)
            {
                case "permissions":
                    try
                    {
                        permissions = JsonSerializer.Deserialize<List<string>>(ref reader, options);
                    }
                    catch (JsonException)
                    {
                        permissions = null;
                    }
                    if (permissions is null)
                    {
                        throw new JsonMemberException("permissions", "permissions must be a list of type:action:pattern strings.");
                    }
                    break;
                case "maxClassification":
                    try
                    {
                        classification = JsonSerializer.Deserialize<DataClassification>(ref reader, options);
                    }
                    catch (JsonException)
                    {
                        throw new JsonMemberException("maxClassification", "maxClassification must be public, internal, confidential or restricted.");
                    }
                    break;
                case "delegationDepth":
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out depth))
                    {
                        throw new JsonMemberException("delegationDepth", $"delegationDepth must be a whole number from 0 to {Scope.MaxDelegationDepth}.");
                    }
                    break;
                default:
                    throw new JsonMemberException(name, "A scope has only permissions, maxClassification and delegationDepth.");
            }
        }
        var scope = Scope.Create(permissions, classification, depth);
        return scope.IsSuccess ? scope.Value : throw new GrantErrorJsonException(scope.Error!);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, Scope value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("permissions");
        foreach (var permission in value.Permissions)
        {
            writer.WriteStringValue(permission.ToString());
        }
        writer.WriteEndArray();
        writer.WritePropertyName("maxClassification");
        JsonSerializer.Serialize(writer, value.MaxClassification, options);
        writer.WriteNumber("delegationDepth", value.DelegationDepth);
        writer.WriteEndObject();
    }
}

/// <summary>A value in a request body that GrantSilo refused with a typed error (a scope, for example).</summary>
public sealed class GrantErrorJsonException(GrantError error) : JsonException(error.Message)
{
    /// <summary>The refusal.</summary>
    public GrantError Error { get; } = error;
}

/// <summary>A member of an object read by a converter of GrantSilo's own is wrong: the path names the object, this the member.</summary>
public sealed class JsonMemberException(string member, string message) : JsonException(message)
{
    /// <summary>The member at fault.</summary>
    public string Member { get; } = member;
}
