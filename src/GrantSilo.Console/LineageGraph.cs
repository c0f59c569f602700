using System.Globalization;

namespace GrantSilo.WebConsole;

/// <summary>
/// The chain an investigator follows, read from one audit record (a decision, or a credential's issue when it has made
/// none): person → orchestrator → task chain (root first) → agent → session → credential → action → resource →
/// decision → policy version. Each element names the console page of its own; the page draws them as server-side SVG.
/// </summary>
public static class LineageGraph
{
    /// <summary>The longest value drawn in full; longer ones are shortened in the picture (the link's title keeps all of it).</summary>
    public const int MaxDrawnLength = 64;

    /// <summary>One element of the chain.</summary>
    /// <param name="Kind">What it is, stable for tests and styles: <c>person</c>, <c>orchestrator</c>, <c>task</c>, <c>agent</c>, ...</param>
    /// <param name="Label">What it is, for people (<c>Task 2 of 3</c>).</param>
    /// <param name="Value">Its id or value, or null when the record has none.</param>
    /// <param name="Href">The console page of its own, or null when there is none to show.</param>
    /// <param name="Details">Lines drawn under the value (the policies that determined a decision).</param>
    public sealed record Element(string Kind, string Label, string? Value, string? Href, IReadOnlyList<string>? Details = null)
    {
        /// <summary>The value as drawn: shortened past <see cref="MaxDrawnLength"/>.</summary>
        public string Drawn => Value is null ? "(none recorded)" : Value.Length <= MaxDrawnLength ? Value : Value[..(MaxDrawnLength - 1)] + "…";
    }

    /// <summary>The elements of <paramref name="record"/>'s lineage, in order.</summary>
    public static IReadOnlyList<Element> Of(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var elements = new List<Element>
        {
            new("person", "Person", record.RootPerson, Link("records", ("person", record.RootPerson))),
            new("orchestrator", "Orchestrator", record.Orchestrator, Link("records", ("caller", record.Orchestrator))),
        };
        var chain = record.TaskChain.Count > 0 ? record.TaskChain : record.TaskId is { } only ? [only] : [];
        for (var i = 0; i < chain.Count; i++)
        {
            var label = chain.Count == 1 ? "Task" : i == 0 ? $"Task 1 of {chain.Count} (root)" : $"Task {i + 1} of {chain.Count}";
            elements.Add(new("task", label, chain[i], Link("tasks", ("id", chain[i]))));
        }
        if (chain.Count == 0)
        {
            elements.Add(new("task", "Task", null, null));
        }
        elements.Add(new("agent", "Agent", record.Agent, Link("agents", ("id", record.Agent))));
        elements.Add(new("session", "Session", record.SessionId, Link("session", ("id", record.SessionId))));
        elements.Add(new("credential", "Credential", record.CredentialId, Link("credential", ("id", record.CredentialId))));
        var isDecision = record.Kind == AuditEventKind.Decision;
        elements.Add(new("action", "Action", record.Action, record.Action is null ? null : Link("records", ("resource", record.ResourcePath), ("action", record.Action), ("kind", nameof(AuditEventKind.Decision)))));
        var resource = record.ResourceType is { } type && record.ResourcePath is { } path ? $"{type}:{path}" : null;
        elements.Add(new("resource", "Resource", resource, Link("records", ("resource", record.ResourcePath))));
        elements.Add(new("decision", "Decision", isDecision ? Describe(record) : null, isDecision ? Link("decision", ("id", record.Id)) : null));
        elements.Add(new("policy", "Policy version", record.PolicyVersion is { } v ? $"version {v.ToString(CultureInfo.InvariantCulture)}" : null,
            record.PolicyVersion is { } version ? Link("policies", ("from", Math.Max(0, version - 1).ToString(CultureInfo.InvariantCulture)), ("to", version.ToString(CultureInfo.InvariantCulture))) : null,
            Wrap(record.DeterminingPolicies)));
        return elements;
    }

    /// <summary>A decision as one line: its result and reason, and its id.</summary>
    public static string Describe(AuditRecord decision)
    {
        var result = decision.Decision?.ToString() ?? "?";
        // The reason only when it says more than the result (a deny's reason; not Allowed or StepUpRequired again).
        var reason = decision.Reason is { } r && r is not (DecisionReason.None or DecisionReason.Allowed) && r.ToString() != result ? $" ({r})" : "";
        return $"{result}{reason} · {decision.Id}";
    }

    // The determining policies, as lines no longer than a drawn value.
    private static List<string> Wrap(IReadOnlyList<string> policies)
    {
        var lines = new List<string>();
        foreach (var policy in policies)
        {
            var id = policy.Length <= MaxDrawnLength - 2 ? policy : policy[..(MaxDrawnLength - 3)] + "…";
            if (lines.Count > 0 && lines[^1].Length + 2 + id.Length <= MaxDrawnLength)
            {
                lines[^1] += ", " + id;
            }
            else
            {
                lines.Add(id);
            }
        }
        return lines;
    }

    /// <summary>A console link with its query, or null when a required part (the first) is missing.</summary>
    private static string? Link(string page, params (string Name, string? Value)[] query)
    {
        if (query.Length > 0 && string.IsNullOrEmpty(query[0].Value))
        {
            return null;
        }
        var parts = query.Where(q => !string.IsNullOrEmpty(q.Value)).Select(q => q.Name + "=" + Uri.EscapeDataString(q.Value!));
        return $"{ConsoleOptions.PathBase}/{page}?{string.Join("&", parts)}";
    }
}

/// <summary>
/// Draws a lineage as SVG on the server: one box per element, top to bottom, joined by arrows; a box with a page of its
/// own is a link (keyboard-focusable, named by its label and full value). No script and no inline style: the
/// stylesheet colours it by element kind.
/// </summary>
public static class LineageSvg
{
    private const int Width = 520, Box = 50, Gap = 22, Margin = 10, DetailLine = 16;

    // Every markup-significant character encoded; other text (the ellipsis, names in any script) kept as it is.
    private static readonly System.Text.Encodings.Web.HtmlEncoder Encoder = System.Text.Encodings.Web.HtmlEncoder.Create(System.Text.Unicode.UnicodeRanges.All);

    /// <summary>The picture's markup, every value HTML-encoded.</summary>
    public static string Render(IReadOnlyList<LineageGraph.Element> elements, string title)
    {
        ArgumentNullException.ThrowIfNull(elements);
        var e = Encoder;
        static int HeightOf(LineageGraph.Element element) => Box + (element.Details?.Count ?? 0) * DetailLine;
        var height = Margin * 2 + elements.Sum(HeightOf) + Math.Max(0, elements.Count - 1) * Gap;
        var svg = new System.Text.StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg id=\"lineage\" class=\"lineage\" viewBox=\"0 0 {Width} {height}\" width=\"{Width}\" height=\"{height}\" role=\"group\" aria-labelledby=\"lineage-title\">");
        svg.Append(CultureInfo.InvariantCulture, $"<title id=\"lineage-title\">{e.Encode(title)}</title>");
        svg.Append("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" class=\"arrow-head\"/></marker></defs>");
        var y = Margin - Gap;
        for (var i = 0; i < elements.Count; i++)
        {
            var element = elements[i];
            y += Gap + (i > 0 ? HeightOf(elements[i - 1]) : 0);
            if (i > 0)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<line class=\"edge\" x1=\"{Width / 2}\" y1=\"{y - Gap}\" x2=\"{Width / 2}\" y2=\"{y - 2}\" marker-end=\"url(#arrow)\"/>");
            }
            var details = element.Details ?? [];
            var name = e.Encode($"{element.Label}: {element.Value ?? "none recorded"}{(details.Count > 0 ? " (" + string.Join(", ", details) + ")" : "")}");
            var open = element.Href is { } href
                ? $"<a href=\"{e.Encode(href)}\" data-element=\"{element.Kind}\" data-index=\"{i}\" aria-label=\"{name}\">"
                : $"<g data-element=\"{element.Kind}\" data-index=\"{i}\" class=\"unlinked\" role=\"img\" aria-label=\"{name}\">";
            svg.Append(open);
            svg.Append(CultureInfo.InvariantCulture, $"<title>{name}</title>");
            svg.Append(CultureInfo.InvariantCulture, $"<rect class=\"box box-{element.Kind}{(element.Value is null ? " missing" : "")}\" x=\"{Margin}\" y=\"{y}\" width=\"{Width - 2 * Margin}\" height=\"{HeightOf(element)}\" rx=\"8\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"label\" x=\"{Margin + 12}\" y=\"{y + 18}\">{e.Encode(element.Label)}</text>");
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"value\" data-field=\"value\" x=\"{Margin + 12}\" y=\"{y + 38}\">{e.Encode(element.Drawn)}</text>");
            for (var d = 0; d < details.Count; d++)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<text class=\"detail\" x=\"{Margin + 12}\" y=\"{y + 38 + (d + 1) * DetailLine}\">{e.Encode(details[d])}</text>");
            }
            svg.Append(element.Href is null ? "</g>" : "</a>");
        }
        svg.Append("</svg>");
        return svg.ToString();
    }
}
