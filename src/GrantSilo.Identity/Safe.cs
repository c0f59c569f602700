using System.Text;

namespace GrantSilo.Identity;

/// <summary>Turns untrusted text into something safe to put in a detail or a log line.</summary>
internal static class Safe
{
    private const int MaxLength = 80;

    /// <summary>Printable ASCII only, at most 80 characters.</summary>
    public static string Text(string value)
    {
        var builder = new StringBuilder(Math.Min(value.Length, MaxLength));
        foreach (var c in value)
        {
            if (builder.Length == MaxLength)
            {
                builder.Append('…');
                break;
            }

            builder.Append(c is >= ' ' and <= '~' ? c : '?');
        }

        return builder.ToString();
    }
}
