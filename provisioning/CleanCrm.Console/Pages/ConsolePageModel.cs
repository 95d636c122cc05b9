using CleanCrm.Application.Common.Results;
using CleanCrm.Console.Presentation;
using Mediator;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CleanCrm.Console.Pages;

/// <summary>
/// Base of every console page: reads and actions are mediator requests (no SQL or business rule here); failures become
/// the sentence in <c>role="alert"</c>, successes the one in <c>role="status"</c> (kept across the post-redirect-get).
/// </summary>
public abstract class ConsolePageModel(ISender sender) : PageModel
{
    protected ISender Sender => sender;

    public string? ErrorMessage { get; set; }

    [TempData]
    public string? StatusMessage { get; set; }

    /// <summary>Sends a request; on failure records the readable message and answers null.</summary>
    protected async Task<T?> SendAsync<T>(IQuery<Result<T>> query)
        where T : class =>
        Unwrap(await sender.Send(query, HttpContext.RequestAborted));

    protected async Task<T?> SendAsync<T>(ICommand<Result<T>> command)
        where T : class =>
        Unwrap(await sender.Send(command, HttpContext.RequestAborted));

    /// <summary>Runs a command; on success redirects (post-redirect-get) with the status message, else shows the page again.</summary>
    protected async Task<IActionResult> ActAsync<T>(ICommand<Result<T>> command, Func<T, string> success,
        Func<Task<IActionResult>> redisplay,
        Func<T, IActionResult>? next = null)
    {
        var result = await sender.Send(command, HttpContext.RequestAborted);
        if (!result.IsSuccess)
        {
            ErrorMessage = ErrorMessages.Describe(result.Error!);
            return await redisplay();
        }

        StatusMessage = success(result.Value);
        return next?.Invoke(result.Value) ?? RedirectToPage();
    }

    private T? Unwrap<T>(Result<T> result)
        where T : class
    {
        if (result.IsSuccess)
        {
            return result.Value;
        }

        ErrorMessage ??= ErrorMessages.Describe(result.Error!);
        return null;
    }
}
