using CsCheck;

namespace GrantSilo.Abstractions.Tests;

/// <summary>Generators over a small alphabet, so containment and overlap happen often.</summary>
internal static class ScopeGen
{
    public static readonly Gen<string> Segment = Gen.OneOf("x", "y", "z");

    public static readonly Gen<string> Path = Segment.Array[1, 3].Select(s => string.Join('/', s));

    public static readonly Gen<string> PatternText = Gen.Frequency(
        (3, Path),
        (2, Path.Select(p => p + "/*")),
        (1, Gen.Const("*")));

    public static readonly Gen<Permission> Permission =
        Gen.Select(Gen.OneOf("doc", "repo"), Gen.OneOf("read", "write", "*"), PatternText)
           .Select((t, a, p) => GrantSilo.Permission.Create(t, a, p).Value);

    public static readonly Gen<Scope> Scope =
        Gen.Select(Permission.Array[0, 5], Gen.Int[0, 3], Gen.Int[0, 3])
           .Select((ps, c, d) => GrantSilo.Scope.Create(ps, (DataClassification)c, d).Value);

    /// <summary>A concrete request: type, action, path, classification.</summary>
    public static readonly Gen<(string Type, string Action, string Path, DataClassification Classification)> Request =
        Gen.Select(Gen.OneOf("doc", "repo"), Gen.OneOf("read", "write", "delete"), Path, Gen.Int[0, 3])
           .Select((t, a, p, c) => (t, a, p, (DataClassification)c));

    /// <summary>What a scope allows for a request, limits included.</summary>
    public static bool Allows(Scope scope, (string Type, string Action, string Path, DataClassification Classification) r) =>
        scope.Covers(r.Type, r.Action, r.Path) && r.Classification <= scope.MaxClassification;

    /// <summary>A narrowing of <paramref name="scope"/>: some of its permissions, each maybe narrowed, and lower limits.</summary>
    public static Gen<Scope> NarrowerThan(Scope scope) =>
        Gen.Select(Gen.Bool.Array[scope.Permissions.Length], Segment.Array[scope.Permissions.Length], Gen.Int[0, (int)scope.MaxClassification], Gen.Int[0, scope.DelegationDepth])
           .Select((keep, extra, c, d) =>
           {
               var kept = new List<GrantSilo.Permission>();
               for (var i = 0; i < scope.Permissions.Length; i++)
               {
                   var p = scope.Permissions[i];
                   if (!keep[i])
                   {
                       continue;
                   }
                   // Narrow a wildcard to a path below it.
                   kept.Add(p.Pattern.IsWildcard
                       ? GrantSilo.Permission.Create(p.ResourceType, p.Action == "*" ? "read" : p.Action, (p.Pattern.Prefix.Length == 0 ? "" : p.Pattern.Prefix + "/") + extra[i]).Value
                       : p);
               }
               return GrantSilo.Scope.Create(kept, (DataClassification)c, d).Value;
           });
}
