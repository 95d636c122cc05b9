using CleanCrm.Infrastructure.Tenancy;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker.Commands;

/// <summary>
/// Rewrites the SCRAM verifier of every tenant role with the current iteration count (ADR 0016), so roles created
/// before it open sessions as cheaply as new ones. Passwords, secrets and open connections stay as they are.
/// </summary>
public sealed class RefreshVerifiersCommand : AsyncCommand
{
    public override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder([], runJobServer: false).Build();
        var refresh = ActivatorUtilities.CreateInstance<TenantVerifierRefresh>(host.Services);
        var (refreshed, skipped) = await refresh.RefreshAsync(cancellationToken);
        AnsiConsole.MarkupLineInterpolated(
            $"Rewrote {refreshed} tenant role verifiers with {ScramVerifier.Iterations} iterations; skipped {skipped} (see the warnings).");
        return skipped == 0 ? 0 : 1;
    }
}
