using CleanCrm.Application.Common.Paging;
using CleanCrm.Application.DatabaseServers;
using CleanCrm.Application.DatabaseServers.Queries.ListDatabaseServers;
using CleanCrm.Application.Organizations;
using CleanCrm.Console.Presentation;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Console.Pages.Organizations;

public sealed class IndexModel(ISender sender) : ConsolePageModel(sender)
{
    public OrganizationFilter Filter { get; private set; } = new();

    public Page<AdminOrganizationListItem>? Results { get; private set; }

    public IReadOnlyList<DatabaseServerDto> Servers { get; private set; } = [];

    public async Task OnGetAsync([FromQuery] OrganizationFilter filter)
    {
        Filter = filter;
        Servers = (await SendAsync(new ListDatabaseServers()))?.Items ?? [];
        Results = await SendAsync(filter.ToRequest());
    }
}
