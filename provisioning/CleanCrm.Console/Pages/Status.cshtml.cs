using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CleanCrm.Console.Pages;

/// <summary>
/// The page behind every error status (status code pages re-execute here); 403 is the "Access denied" page that signed-in
/// users who are not platform admins get.
/// </summary>
[IgnoreAntiforgeryToken]
public sealed class StatusModel : PageModel
{
    public int Code { get; private set; }

    public string Title => Code switch
    {
        403 => "Access denied",
        404 => "Not found",
        _ => "Something went wrong",
    };

    public void OnGet(int code) => Show(code);

    // Re-executed POSTs (a refused form) land here with their method.
    public void OnPost(int code) => Show(code);

    private void Show(int code)
    {
        Code = code is >= 400 and <= 599 ? code : 404;
        Response.StatusCode = Code;
    }
}
