using CleanCrm.Application.DatabaseServers;
using CleanCrm.Application.DatabaseServers.Commands.ActivateDatabaseServer;
using CleanCrm.Application.DatabaseServers.Commands.DrainDatabaseServer;
using CleanCrm.Application.DatabaseServers.Commands.RegisterDatabaseServer;
using CleanCrm.Application.DatabaseServers.Queries.ListDatabaseServers;
using Mediator;
using Microsoft.AspNetCore.Mvc;

namespace CleanCrm.Console.Pages;

public sealed class ServersModel(ISender sender) : ConsolePageModel(sender)
{
    public IReadOnlyList<DatabaseServerDto> Servers { get; private set; } = [];

    [BindProperty]
    public ServerInput Input { get; set; } = new();

    public async Task OnGetAsync() => Servers = (await SendAsync(new ListDatabaseServers()))?.Items ?? [];

    public async Task<IActionResult> OnPostRegisterAsync() =>
        await ActAsync(
            new RegisterDatabaseServer(Input.Name?.Trim() ?? string.Empty, Input.Host?.Trim() ?? string.Empty, Input.Port ?? 0,
                Input.AdminUsername?.Trim() ?? string.Empty, Input.Password ?? string.Empty, Input.Capacity ?? 0),
            server => $"Database server '{server.Name}' registered.",
            Redisplay);

    public async Task<IActionResult> OnPostDrainAsync(Guid serverId) =>
        await ActAsync(new DrainDatabaseServer(serverId), s => $"Database server '{s.Name}' is draining.", Redisplay);

    public async Task<IActionResult> OnPostActivateAsync(Guid serverId) =>
        await ActAsync(new ActivateDatabaseServer(serverId), s => $"Database server '{s.Name}' is active.", Redisplay);

    private async Task<IActionResult> Redisplay()
    {
        await OnGetAsync();
        return Page();
    }

    public sealed class ServerInput
    {
        public string? Name { get; set; }

        public string? Host { get; set; }

        public int? Port { get; set; } = 5432;

        public string? AdminUsername { get; set; } = "postgres";

        public string? Password { get; set; }

        public int? Capacity { get; set; } = 500;
    }
}
