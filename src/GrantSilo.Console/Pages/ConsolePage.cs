using GrantSilo.Client;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace GrantSilo.WebConsole.Pages;

/// <summary>
/// A console page: the signed-in person and their client (every call is judged as them by the API's rules), and the
/// outcome of the last action, shown once after the redirect that follows every post.
/// </summary>
public abstract class ConsolePage : PageModel
{
    /// <summary>The signed-in person.</summary>
    public ConsoleCaller Caller { get; private set; } = null!;

    /// <summary>The client calling as them.</summary>
    protected IGrantClient Client => Caller.Client;

    /// <summary>What the last action did.</summary>
    [TempData]
    public string? Success { get; set; }

    /// <summary>Why the last action was refused (a problem detail: its code and message).</summary>
    [TempData]
    public string? Problem { get; set; }

    /// <summary>The refusal's code.</summary>
    [TempData]
    public string? ProblemCode { get; set; }

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        if (await ConsoleCaller.OfAsync(HttpContext) is not { } caller)
        {
            // Signed in without a usable session (it expired, or the host restarted): sign in again.
            context.Result = Redirect(ConsoleOptions.PathBase + "/sign-in");
            return;
        }
        Caller = caller;
        await next();
    }

    /// <summary>Shows the outcome of <paramref name="result"/> after the redirect: a success sentence or the problem.</summary>
    protected bool Report<T>(GrantResult<T> result, Func<T, string> success)
    {
        if (result.IsSuccess)
        {
            Success = success(result.Value);
            return true;
        }
        Fail(result.Error!);
        return false;
    }

    /// <summary>Shows a refusal.</summary>
    protected void Fail(GrantError error)
    {
        ProblemCode = error.Code.ToString();
        Problem = error.Message;
    }

    /// <summary>Shows a problem with the form itself.</summary>
    protected void Fail(string code, string message)
    {
        ProblemCode = code;
        Problem = message;
    }
}
