using System.ComponentModel;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Proposals;
using CleanCrm.Infrastructure.Jobs;
using Hangfire;
using Hangfire.States;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CleanCrm.Infrastructure.Ai;

/// <summary>
/// The Hangfire job (default queue) that generates one proposal in its organization's tenant scope. Retries are safe:
/// <see cref="ProposalGenerator"/> claims the proposal, so a finished one is skipped and a running one is left alone
/// until its claim expires (the worker died).
/// </summary>
public sealed class ProposalGenerationJob(ITenantScopeFactory scopes, IServiceScopeFactory services)
{
    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 5, DelaysInSeconds = [60, 300, 900, 1800, 3600])]
    [DisplayName("Generate proposal {1}")]
    public async Task RunAsync(Guid organizationId, Guid proposalId, CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        await using var di = services.CreateAsyncScope();
        var tenant = di.ServiceProvider.GetRequiredService<ITenantContext>().Current!;
        await di.ServiceProvider.GetRequiredService<ProposalGenerator>()
            .GenerateAsync(organizationId, tenant.Name, proposalId, cancellationToken);
    }
}

/// <summary>Enqueues proposal generation on Hangfire; a failure is logged and reported to the caller.</summary>
public sealed partial class HangfireProposalQueue(IBackgroundJobClient jobs, ILogger<HangfireProposalQueue> logger) : IProposalQueue
{
    public bool Enqueue(Guid organizationId, Guid proposalId)
    {
        try
        {
            jobs.Create<ProposalGenerationJob>(job => job.RunAsync(organizationId, proposalId, CancellationToken.None),
                new EnqueuedState(HangfireStorage.DefaultQueue));
            return true;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogEnqueueFailed(logger, exception, proposalId);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not queue proposal {ProposalId}; it is marked failed")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, Guid proposalId);
}
