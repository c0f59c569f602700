using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GrantSilo.Grantctl;

/// <summary>What grantctl prints: a table or a tree by default, the API's JSON with <c>--json</c>.</summary>
internal sealed class Output(TextWriter writer, bool json)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public bool Json => json;

    public void Write(JsonNode node, Action render)
    {
        if (json)
        {
            writer.WriteLine(node.ToJsonString(Indented));
        }
        else
        {
            render();
        }
    }

    public void Line(string text) => writer.WriteLine(text);

    /// <summary>A table: one row per item, the given columns, widths fitted to the content.</summary>
    public void Table(IEnumerable<JsonNode?> items, params (string Header, Func<JsonNode, string?> Value)[] columns)
    {
        var rows = items.Where(i => i is not null).Select(i => columns.Select(c => c.Value(i!) ?? "").ToArray()).ToList();
        if (rows.Count == 0)
        {
            writer.WriteLine("(none)");
            return;
        }
        var widths = columns.Select((c, i) => Math.Max(c.Header.Length, rows.Max(r => r[i].Length))).ToArray();
        writer.WriteLine(string.Join("  ", columns.Select((c, i) => c.Header.ToUpperInvariant().PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows)
        {
            writer.WriteLine(string.Join("  ", row.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        }
    }

    /// <summary>Name: value lines for one object.</summary>
    public void Fields(JsonNode item, params (string Name, string? Value)[] fields)
    {
        var width = fields.Max(f => f.Name.Length);
        foreach (var (name, value) in fields.Where(f => f.Value is not null))
        {
            writer.WriteLine($"{(name + ":").PadRight(width + 1)} {value}");
        }
    }

    /// <summary>A task tree drawn with its branches: each line the task, its agent and its status.</summary>
    public void Tree(JsonNode root)
    {
        var text = new StringBuilder();
        void Draw(JsonNode node, string indent, bool last, bool top)
        {
            var task = node["task"]!;
            text.Append(top ? "" : indent + (last ? "└── " : "├── "))
                .Append(S(task["taskId"])).Append("  ").Append(S(task["agent"])).Append("  [").Append(S(task["status"])).Append(']').AppendLine();
            var children = node["children"]?.AsArray() ?? [];
            for (var i = 0; i < children.Count; i++)
            {
                Draw(children[i]!, top ? "" : indent + (last ? "    " : "│   "), i == children.Count - 1, false);
            }
        }
        Draw(root, "", true, true);
        writer.Write(text.ToString());
    }

    public static string? S(JsonNode? node) => node is null ? null : node.GetValueKind() == JsonValueKind.String ? node.GetValue<string>() : node.ToJsonString();
}
