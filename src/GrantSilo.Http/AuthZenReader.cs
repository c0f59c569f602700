using System.Text.Json;
using System.Text.Json.Nodes;

namespace GrantSilo.Http;

/// <summary>
/// The hot path of <c>POST /access/v1/evaluation</c>: its body read in one forward pass of a <see cref="Utf8JsonReader"/>,
/// without the serializer's per-request machinery or a <see cref="JsonObject"/> for an absent member. It reads only the
/// common, well-formed shape: an object of <c>subject</c>, <c>action</c>, <c>resource</c> and <c>context</c>, each member
/// once, entities of string <c>type</c>, <c>id</c> and <c>name</c>, and <c>properties</c> and <c>context</c> as flat
/// objects of string values. For that shape it returns exactly what <see cref="HttpJson.Options"/> would
/// (<c>AuthZenReaderTests</c> compares them); for anything else, refusals included, it returns null and the body is read
/// by the serializer, which accepts it or names the problem. So it can never accept what the strict reading refuses.
/// </summary>
internal static class AuthZenReader
{
    /// <summary>The evaluation <paramref name="body"/> holds, or null when the serializer must read it.</summary>
    public static AuthZenEvaluation? TryRead(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = HttpJson.MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }
            AuthZenEntity? subject = null, resource = null;
            AuthZenAction? action = null;
            JsonObject? context = null;
            bool hasSubject = false, hasAction = false, hasResource = false, hasContext = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("subject"u8) && !hasSubject)
                {
                    hasSubject = true;
                    if ((subject = ReadEntity(ref reader)) is null)
                    {
                        return null;
                    }
                }
                else if (reader.ValueTextEquals("action"u8) && !hasAction)
                {
                    hasAction = true;
                    if ((action = ReadAction(ref reader)) is null)
                    {
                        return null;
                    }
                }
                else if (reader.ValueTextEquals("resource"u8) && !hasResource)
                {
                    hasResource = true;
                    if ((resource = ReadEntity(ref reader)) is null)
                    {
                        return null;
                    }
                }
                else if (reader.ValueTextEquals("context"u8) && !hasContext)
                {
                    hasContext = true;
                    if ((context = ReadFlatStrings(ref reader)) is null)
                    {
                        return null;
                    }
                }
                else
                {
                    // An unknown or repeated member: the serializer refuses it, naming it.
                    return null;
                }
            }
            // The object ends, and nothing follows it (a second value or a stray token throws, and is declined below).
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return null;
            }
            return new AuthZenEvaluation { Subject = subject, Action = action, Resource = resource, Context = context };
        }
        catch (Exception invalid) when (invalid is JsonException or InvalidOperationException or ArgumentException)
        {
            // Not well-formed JSON, or text that cannot be a string (invalid UTF-8, a lone surrogate): the serializer says where.
            return null;
        }
    }

    // { "type": "...", "id": "...", "properties": { ... } }, each at most once.
    private static AuthZenEntity? ReadEntity(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        string? type = null, id = null;
        JsonObject? properties = null;
        bool hasType = false, hasId = false, hasProperties = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8) && !hasType)
            {
                hasType = true;
                if ((type = ReadString(ref reader)) is null)
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("id"u8) && !hasId)
            {
                hasId = true;
                if ((id = ReadString(ref reader)) is null)
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("properties"u8) && !hasProperties)
            {
                hasProperties = true;
                if ((properties = ReadFlatStrings(ref reader)) is null)
                {
                    return null;
                }
            }
            else
            {
                return null;
            }
        }
        return reader.TokenType == JsonTokenType.EndObject ? new AuthZenEntity { Type = type, Id = id, Properties = properties } : null;
    }

    // { "name": "...", "properties": { ... } }, each at most once.
    private static AuthZenAction? ReadAction(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        string? name = null;
        JsonObject? properties = null;
        bool hasName = false, hasProperties = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8) && !hasName)
            {
                hasName = true;
                if ((name = ReadString(ref reader)) is null)
                {
                    return null;
                }
            }
            else if (reader.ValueTextEquals("properties"u8) && !hasProperties)
            {
                hasProperties = true;
                if ((properties = ReadFlatStrings(ref reader)) is null)
                {
                    return null;
                }
            }
            else
            {
                return null;
            }
        }
        return reader.TokenType == JsonTokenType.EndObject ? new AuthZenAction { Name = name, Properties = properties } : null;
    }

    // The next value as a string; null for any other token (a null included: the serializer reads that itself).
    private static string? ReadString(ref Utf8JsonReader reader) =>
        reader.Read() && reader.TokenType == JsonTokenType.String ? reader.GetString() : null;

    // An object whose members are all strings, each named once; null for anything else (nesting, numbers, nulls).
    private static JsonObject? ReadFlatStrings(ref Utf8JsonReader reader)
    {
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return null;
        }
        var values = new JsonObject();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            if (!reader.Read() || reader.TokenType != JsonTokenType.String || values.ContainsKey(name))
            {
                return null;
            }
            values.Add(name, JsonValue.Create(reader.GetString()));
        }
        return reader.TokenType == JsonTokenType.EndObject ? values : null;
    }
}
