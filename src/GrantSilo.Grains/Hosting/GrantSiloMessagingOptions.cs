using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace GrantSilo.Grains.Hosting;

/// <summary>Bounds on the Orleans messages a silo reads and writes. Bound from <c>GrantSilo:Messaging</c>.</summary>
public sealed class GrantSiloMessagingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "GrantSilo:Messaging";

    /// <summary>
    /// The largest message header a silo reads or writes, in bytes (default 32 KiB; Orleans' own default is 10 MiB). A
    /// header carries a call's request context, the caller's token among it (at most 16 KiB), and a silo reads it, from
    /// any client that connects to its gateway, before any token is checked: a larger one closes the connection. Request
    /// context values are deserialized as any object, and Orleans' deserializer has no depth limit, so this bound is
    /// also what keeps a header from nesting deep enough to exhaust a thread's stack.
    /// </summary>
    [Range(20 * 1024, 10 * 1024 * 1024, ErrorMessage = "GrantSilo:Messaging:MaxMessageHeaderBytes must be between 20480 (a caller token of 16 KiB must fit) and 10485760.")]
    public int MaxMessageHeaderBytes { get; set; } = 32 * 1024;
}

/// <summary>Applies <see cref="GrantSiloMessagingOptions"/> to Orleans' messaging options.</summary>
internal sealed class MessageLimits(IOptions<GrantSiloMessagingOptions> limits) : IConfigureOptions<Orleans.Configuration.SiloMessagingOptions>
{
    public void Configure(Orleans.Configuration.SiloMessagingOptions options) => options.MaxMessageHeaderSize = limits.Value.MaxMessageHeaderBytes;
}
