using CleanCrm.Console.Presentation;
using Mediator;

namespace CleanCrm.Console.Pages;

public sealed class IndexModel(ISender sender, ApiMetrics metrics) : ConsolePageModel(sender)
{
    public ConnectionBudget Budget { get; private set; } = new(null, null, null, null, null);

    public async Task OnGetAsync() => Budget = await metrics.ReadAsync(HttpContext.RequestAborted);
}
