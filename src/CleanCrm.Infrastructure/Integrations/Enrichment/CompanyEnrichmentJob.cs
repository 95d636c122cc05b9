using System.ComponentModel;
using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Companies;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Jobs;
using CleanCrm.Infrastructure.Tenancy;
using Hangfire;
using Hangfire.States;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations.Enrichment;

/// <summary>
/// Enriches one company's domain in its organization's database: the site's logo as a thumbnail and its title and
/// description (docs/INTEGRATIONS.md, "Company enrichment"). Idempotent: a job for a company that is gone, whose domain
/// changed since, or that already has a result for that domain does nothing; what the site refuses to give (not an image,
/// too large, unreachable) is recorded on the row, never thrown.
/// </summary>
public sealed partial class CompanyEnrichmentJob(
    ITenantScopeFactory scopes,
    TenantDbContextFactory contexts,
    ICompanyEnrichmentProvider provider,
    TimeProvider clock,
    ILogger<CompanyEnrichmentJob> logger)
{
    [Queue(HangfireStorage.DefaultQueue)]
    [AutomaticRetry(Attempts = 3, DelaysInSeconds = [60, 600, 3600])]
    [DisplayName("Enrich company {1}")]
    public async Task<bool> RunAsync(Guid organizationId, Guid companyId, string domain, CancellationToken cancellationToken)
    {
        await using var scope = await scopes.BeginAsync(organizationId, cancellationToken);
        await using var tenant = contexts.CreateForCurrentScope();
        var current = await tenant.Companies.AsNoTracking().Where(c => c.Id == companyId && c.DeletedAt == null)
            .Select(c => new { c.Domain }).FirstOrDefaultAsync(cancellationToken);
        if (current?.Domain != domain
            || await tenant.CompanyEnrichments.AnyAsync(e => e.CompanyId == companyId && e.Domain == domain, cancellationToken))
        {
            return false;
        }

        var site = await provider.DescribeAsync(domain, cancellationToken);
        var row = await tenant.CompanyEnrichments.FirstOrDefaultAsync(e => e.CompanyId == companyId, cancellationToken);
        if (row is null)
        {
            row = new CompanyEnrichment { CompanyId = companyId, Domain = domain };
            tenant.CompanyEnrichments.Add(row);
        }

        row.Domain = domain;
        row.Status = site.Reached || site.Logo is not null ? EnrichmentStatus.Enriched : EnrichmentStatus.Failed;
        row.Title = site.Title;
        row.Description = site.Description;
        row.Logo = site.Logo?.Png;
        row.LogoHash = site.Logo?.Hash;
        row.LogoSourceUrl = site.LogoSource is { } source && source.AbsoluteUri.Length <= 2048 ? source.AbsoluteUri : null;
        row.Failure = site.Failure;
        row.FetchedAt = clock.GetUtcNow();
        try
        {
            await tenant.SaveChangesAsync(cancellationToken);
        }
        catch (ConstraintViolationException exception) when (exception.Kind is ConstraintKind.Unique or ConstraintKind.ForeignKey)
        {
            // A concurrent run stored its result first, or the company was deleted for good meanwhile.
            return false;
        }

        LogEnriched(logger, companyId, row.Status, row.Logo is not null, row.Failure);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Company {CompanyId} enriched: {Status}, logo {HasLogo}, failure {Failure}")]
    private static partial void LogEnriched(ILogger logger, Guid companyId, EnrichmentStatus status, bool hasLogo, string? failure);
}

/// <summary>
/// Queues <see cref="CompanyEnrichmentJob"/> on Hangfire; a failure to queue is logged and never fails the write. A host
/// without a Hangfire client (a CLI verb) queues nothing.
/// </summary>
public sealed partial class HangfireCompanyEnrichmentQueue(
    IServiceProvider services, IOptions<CompanyEnrichmentOptions> options, ILogger<HangfireCompanyEnrichmentQueue> logger)
    : ICompanyEnrichmentQueue
{
    public void Enqueue(Guid organizationId, Guid companyId, string domain)
    {
        if (!options.Value.Enabled || services.GetService(typeof(IBackgroundJobClient)) is not IBackgroundJobClient jobs)
        {
            return;
        }

        try
        {
            jobs.Create<CompanyEnrichmentJob>(job => job.RunAsync(organizationId, companyId, domain, CancellationToken.None),
                new EnqueuedState(HangfireStorage.DefaultQueue));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogEnqueueFailed(logger, exception, companyId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not queue the enrichment of company {CompanyId}; it stays without a logo")]
    private static partial void LogEnqueueFailed(ILogger logger, Exception exception, Guid companyId);
}
