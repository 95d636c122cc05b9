using CleanCrm.Application.Fleet.Queries.GetFleetOverview;
using CleanCrm.Console.Presentation;
using Mediator;

namespace CleanCrm.Console.Pages;

public sealed class IndexModel(ISender sender, ApiMetrics metrics) : ConsolePageModel(sender)
{
    public FleetOverview? Overview { get; private set; }

    public ConnectionBudget Budget { get; private set; } = new(null, null, null, null, null);

    public async Task OnGetAsync()
    {
        Overview = await SendAsync(new GetFleetOverview());
        Budget = await metrics.ReadAsync(HttpContext.RequestAborted);
    }
}
