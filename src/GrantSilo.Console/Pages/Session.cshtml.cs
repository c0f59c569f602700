using Microsoft.AspNetCore.Mvc;

namespace GrantSilo.WebConsole.Pages;

/// <summary>
/// A session's own page: its agent, status, lifetimes and activity (<c>session.read</c>), and the credentials issued in
/// it, each read as the signed-in person.
/// </summary>
public sealed class SessionModel : ConsolePage
{
    /// <summary>How many of its credentials are listed.</summary>
    public const int CredentialsShown = 100;

    [BindProperty(SupportsGet = true)] public string? Id { get; set; }

    public SessionInfo? Session { get; private set; }

    public GrantError? Refusal { get; private set; }

    /// <summary>Its credentials, or the API's refusal to list them.</summary>
    public GrantResult<Page<CredentialInfo>>? Credentials { get; private set; }

    public async Task OnGetAsync()
    {
        if (string.IsNullOrWhiteSpace(Id))
        {
            return;
        }
        var id = Id.Trim();
        var session = await Client.GetSessionAsync(id, HttpContext.RequestAborted);
        if (!session.IsSuccess)
        {
            Refusal = session.Error;
            return;
        }
        Session = session.Value;
        Credentials = await Client.ListSessionCredentialsAsync(id, pageSize: CredentialsShown, cancellationToken: HttpContext.RequestAborted);
    }
}
