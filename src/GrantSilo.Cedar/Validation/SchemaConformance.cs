using GrantSilo.Cedar.Values;

namespace GrantSilo.Cedar.Validation;

/// <summary>Checks requests, entities and values against a schema (Cedar's request validation and entity conformance).</summary>
internal static class SchemaConformance
{
    public static List<SchemaViolation> CheckRequest(CedarSchema schema, AuthorizationRequest request)
    {
        var errors = new List<SchemaViolation>();
        if (!schema.TryGetAction(request.Action, out var action))
        {
            errors.Add(new(SchemaViolationCode.UndeclaredAction, "action", $"action {request.Action} is not declared in the schema"));
            return errors;
        }

        CheckRequestEntity(schema, request.Principal, action.Principals, "principal", action, errors);
        CheckRequestEntity(schema, request.Resource, action.Resources, "resource", action, errors);
        CheckValue(schema, request.Context, action.Context, "context", errors);
        return errors;
    }

    private static void CheckRequestEntity(CedarSchema schema, EntityUid uid, string[] allowed, string role, SchemaAction action, List<SchemaViolation> errors)
    {
        if (!schema.IsEntityTypeDeclared(uid.Type))
        {
            errors.Add(new(SchemaViolationCode.UndeclaredEntityType, role, $"{role} type `{uid.Type}` is not declared in the schema"));
            return;
        }

        if (!allowed.Contains(uid.Type, StringComparer.Ordinal))
        {
            var code = role == "principal" ? SchemaViolationCode.PrincipalTypeNotAllowed : SchemaViolationCode.ResourceTypeNotAllowed;
            var expected = allowed.Length == 0 ? "no types" : string.Join(", ", allowed);
            errors.Add(new(code, role, $"action {action.Uid} does not apply to {role} type `{uid.Type}`; its appliesTo allows {expected}"));
        }

        CheckEnum(schema, uid, role, errors);
    }

    private static void CheckEnum(CedarSchema schema, EntityUid uid, string path, List<SchemaViolation> errors)
    {
        if (schema.TryGetEntityType(uid.Type, out var et) && et.EnumChoices is { } choices && !choices.Contains(uid.Id, StringComparer.Ordinal))
        {
            errors.Add(new(SchemaViolationCode.InvalidEnumId, path, $"{uid} is not one of the declared ids of enumerated entity type `{uid.Type}`"));
        }
    }

    public static List<SchemaViolation> CheckEntity(CedarSchema schema, Entity entity)
    {
        var errors = new List<SchemaViolation>();
        var path = entity.Uid.ToString();
        if (CedarSchema.IsActionType(entity.Uid.Type))
        {
            if (!schema.TryGetAction(entity.Uid, out var action))
            {
                errors.Add(new(SchemaViolationCode.UndeclaredAction, path, $"action {entity.Uid} is not declared in the schema"));
            }
            else if (!ActionAncestors(schema, entity.Parents).SetEquals(ActionAncestors(schema, action.Parents)))
            {
                errors.Add(new(SchemaViolationCode.ActionMismatch, path + ".parents", $"the parents of action {entity.Uid} differ from the schema's action groups"));
            }

            return errors;
        }

        if (!schema.TryGetEntityType(entity.Uid.Type, out var et))
        {
            errors.Add(new(SchemaViolationCode.UndeclaredEntityType, path, $"entity type `{entity.Uid.Type}` is not declared in the schema"));
            return errors;
        }

        CheckEnum(schema, entity.Uid, path, errors);
        CheckValue(schema, RecordValue.Create(entity.Attributes), et.Attributes, path + ".attrs", errors);
        foreach (var parent in entity.Parents)
        {
            if (!et.Parents.Contains(parent.Type, StringComparer.Ordinal))
            {
                errors.Add(new(
                    SchemaViolationCode.UnexpectedParentType,
                    path + ".parents",
                    $"{entity.Uid} cannot be a member of {parent}: the schema allows parents of type {(et.Parents.Length == 0 ? "(none)" : string.Join(", ", et.Parents))}"));
            }
            else
            {
                CheckEnum(schema, parent, path + ".parents", errors);
            }
        }

        if (entity.Tags.Count > 0)
        {
            if (et.Tags is null)
            {
                errors.Add(new(SchemaViolationCode.TagsNotAllowed, path + ".tags", $"entity type `{et.Name}` has no tags in the schema"));
            }
            else
            {
                foreach (var (k, v) in entity.Tags)
                {
                    CheckValue(schema, v, et.Tags, $"{path}.tags.{k}", errors);
                }
            }
        }

        return errors;
    }

    /// <summary>The given actions and all their groups, transitively (so direct and transitively closed parent lists compare equal).</summary>
    private static HashSet<EntityUid> ActionAncestors(CedarSchema schema, IEnumerable<EntityUid> parents)
    {
        var result = new HashSet<EntityUid>();
        var stack = new Stack<EntityUid>(parents);
        while (stack.Count > 0)
        {
            var p = stack.Pop();
            if (result.Add(p) && schema.TryGetAction(p, out var a))
            {
                foreach (var pp in a.Parents)
                {
                    stack.Push(pp);
                }
            }
        }

        return result;
    }

    public static void CheckValue(CedarSchema schema, CedarValue value, StaticType type, string path, List<SchemaViolation> errors)
    {
        switch (type.Kind)
        {
            case TypeKind.Bool when value is BoolValue:
            case TypeKind.Long when value is LongValue:
            case TypeKind.String when value is StringValue:
                return;
            case TypeKind.Extension when ExtensionName(value) == type.Name:
                return;
            case TypeKind.Entity when value is EntityUid uid && (type.Name is null || uid.Type == type.Name):
                CheckEnum(schema, uid, path, errors);
                return;
            case TypeKind.Set when value is SetValue set:
                if (type.Element is { } element)
                {
                    var i = 0;
                    foreach (var item in set.Items)
                    {
                        CheckValue(schema, item, element, $"{path}[{i++}]", errors);
                    }
                }

                return;
            case TypeKind.Record when value is RecordValue record:
                foreach (var (k, attr) in type.Attributes)
                {
                    if (record.TryGet(k, out var v))
                    {
                        CheckValue(schema, v, attr.Type, path + "." + k, errors);
                    }
                    else if (attr.Required)
                    {
                        errors.Add(new(SchemaViolationCode.MissingAttribute, path + "." + k, $"required attribute `{k}` is missing from {path}"));
                    }
                }

                if (!type.IsOpen)
                {
                    foreach (var k in record.Attributes.Keys.Where(k => !type.Attributes.ContainsKey(k)))
                    {
                        errors.Add(new(SchemaViolationCode.UnexpectedAttribute, path + "." + k, $"attribute `{k}` of {path} is not declared in the schema"));
                    }
                }

                return;
            default:
                errors.Add(new(SchemaViolationCode.TypeMismatch, path, $"{path} must be {type}, but it is {Describe(value)}"));
                return;
        }
    }

    private static string? ExtensionName(CedarValue v) => v switch
    {
        IpValue => "ipaddr",
        DecimalValue => "decimal",
        DatetimeValue => "datetime",
        DurationValue => "duration",
        _ => null,
    };

    private static string Describe(CedarValue v) => v switch
    {
        EntityUid uid => $"an entity of type `{uid.Type}`",
        _ when ExtensionName(v) is { } ext => $"a {ext} value",
        _ => $"a {v.Kind.ToString().ToLowerInvariant()} ({Truncate(v.ToString() ?? string.Empty)})",
    };

    private static string Truncate(string s) => s.Length > 40 ? s[..40] + "…" : s;
}
