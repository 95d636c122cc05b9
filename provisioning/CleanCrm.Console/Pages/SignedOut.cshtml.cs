using Microsoft.AspNetCore.Mvc.RazorPages;

namespace CleanCrm.Console.Pages;

public sealed class SignedOutModel : PageModel
{
    public void OnGet()
    {
    }
}
