using CleanCrm.Application.Common.Persistence;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace CleanCrm.Infrastructure.Persistence.Tenant;

/// <summary>One organization's database. Built only by <see cref="TenantDbContextFactory"/> (the one tenancy mechanism).</summary>
public sealed class TenantDbContext : DbContext, ITenantDbContext
{
    public const string SearchVector = "SearchVector";
    public const string TextSearchConfiguration = "simple";

    public TenantDbContext(DbContextOptions<TenantDbContext> options)
        : base(options)
    {
    }

    /// <summary>The budgeted connection this context uses; null at design time, for the migrator and while pooled.</summary>
    internal TenantConnectionHandle? Connection { get; private set; }

    // True while a request's DI scope owns this (pooled) instance: DI holds it under two registrations
    // (TenantDbContext and ITenantDbContext) and disposes it through both, and a pooled context disposed twice can be
    // returned to the pool while another request already leased it. So the public Dispose is a no-op while scope-owned
    // and only the scope's ScopedTenantDbContext gives it back, once.
    private bool _ownedByScope;

    /// <summary>Binds a context fresh from the pool to the current tenant scope's budgeted connection.</summary>
    internal void Bind(TenantConnectionHandle connection, bool ownedByScope)
    {
        Connection = connection;
        _ownedByScope = ownedByScope;
        DomainEventsPending = false;
        Causation = null;
        Database.SetDbConnection(connection.Connection, contextOwnsConnection: true);
    }

    /// <summary>Called by the owning <see cref="ScopedTenantDbContext"/> only: returns the context to the pool.</summary>
    internal ValueTask ReleaseFromScopeAsync()
    {
        _ownedByScope = false;
        return DisposeAsync();
    }

    internal void ReleaseFromScope()
    {
        _ownedByScope = false;
        Dispose();
    }

    public override void Dispose()
    {
        if (_ownedByScope)
        {
            return;
        }

        if (Connection is not null)
        {
            // EF resets a pooled context without closing a connection that was opened explicitly (OpenConnection,
            // a transaction) and keeps counting it open, which would hold the tenant's connection and slot in the pool
            // and refuse the next lease's SetDbConnection. Give everything back first.
            Database.CurrentTransaction?.Dispose();
            for (var i = 0; i < MaxNestedOpens && Database.GetDbConnection().State != System.Data.ConnectionState.Closed; i++)
            {
                Database.CloseConnection();
            }

            Connection.Connection.Dispose();
            Connection = null;
        }

        base.Dispose();
    }

    public override ValueTask DisposeAsync() => _ownedByScope ? ValueTask.CompletedTask : ReturnAsync();

    private async ValueTask ReturnAsync()
    {
        if (Connection is not null)
        {
            // As in Dispose: nothing opened explicitly may stay open (or counted open) in the pool.
            if (Database.CurrentTransaction is { } transaction)
            {
                await transaction.DisposeAsync();
            }

            for (var i = 0; i < MaxNestedOpens && Database.GetDbConnection().State != System.Data.ConnectionState.Closed; i++)
            {
                await Database.CloseConnectionAsync();
            }

            await Connection.Connection.DisposeAsync();
            Connection = null;
        }

        await base.DisposeAsync();
    }

    private const int MaxNestedOpens = 8;

    public DbSet<Member> Members => Set<Member>();

    public DbSet<Company> Companies => Set<Company>();

    public DbSet<Contact> Contacts => Set<Contact>();

    public DbSet<Pipeline> Pipelines => Set<Pipeline>();

    public DbSet<PipelineStage> PipelineStages => Set<PipelineStage>();

    public DbSet<Deal> Deals => Set<Deal>();

    public DbSet<DealContact> DealContacts => Set<DealContact>();

    public DbSet<DealSplit> DealSplits => Set<DealSplit>();

    public DbSet<DealStageChange> DealStageHistory => Set<DealStageChange>();

    public DbSet<CrmActivity> Activities => Set<CrmActivity>();

    public DbSet<CrmTask> Tasks => Set<CrmTask>();

    public DbSet<Note> Notes => Set<Note>();

    public DbSet<Meeting> Meetings => Set<Meeting>();

    public DbSet<MeetingAttendee> MeetingAttendees => Set<MeetingAttendee>();

    public DbSet<MeetingTranscript> MeetingTranscripts => Set<MeetingTranscript>();

    public DbSet<CalendarEvent> CalendarEvents => Set<CalendarEvent>();

    public DbSet<Tag> Tags => Set<Tag>();

    public DbSet<Tagging> Taggings => Set<Tagging>();

    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();

    public DbSet<Import> Imports => Set<Import>();

    public DbSet<DomainEvent> DomainEvents => Set<DomainEvent>();

    public DbSet<DomainEventConsumption> DomainEventConsumptions => Set<DomainEventConsumption>();

    public DbSet<WebhookEndpoint> WebhookEndpoints => Set<WebhookEndpoint>();

    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();

    public DbSet<WebhookDeliveryAttempt> WebhookDeliveryAttempts => Set<WebhookDeliveryAttempt>();

    public DbSet<SlackNotificationSettings> SlackNotificationSettings => Set<SlackNotificationSettings>();

    public DbSet<FathomSettings> FathomSettings => Set<FathomSettings>();

    public DbSet<Workflow> Workflows => Set<Workflow>();

    public DbSet<WorkflowRun> WorkflowRuns => Set<WorkflowRun>();

    public DbSet<TaskOverdueMark> TaskOverdueMarks => Set<TaskOverdueMark>();

    /// <summary>
    /// Set by the workflow run executor on its own context: the events this context's saves raise were caused by that run
    /// (depth = run depth + 1). Null everywhere else (depth 0). Reset when the context is leased from the pool.
    /// </summary>
    internal WorkflowCausation? Causation { get; set; }

    /// <summary>Set by <see cref="DomainEventInterceptor"/> when a save added outbox rows; the dispatcher is queued after commit.</summary>
    internal bool DomainEventsPending { get; set; }

    public DbSet<CompanyEnrichment> CompanyEnrichments => Set<CompanyEnrichment>();

    public DbSet<CopilotConversation> CopilotConversations => Set<CopilotConversation>();

    public DbSet<CopilotMessage> CopilotMessages => Set<CopilotMessage>();

    public DbSet<Proposal> Proposals => Set<Proposal>();

    public DbSet<ProposalTemplate> ProposalTemplates => Set<ProposalTemplate>();

    public IQueryable<Company> CompaniesMatching(string query) =>
        Companies.Where(c => c.DeletedAt == null
                             && EF.Property<NpgsqlTsVector>(c, SearchVector)
                                 .Matches(EF.Functions.WebSearchToTsQuery(TextSearchConfiguration, query)));

    public IQueryable<Contact> ContactsMatching(string query) =>
        Contacts.Where(c => c.DeletedAt == null
                            && EF.Property<NpgsqlTsVector>(c, SearchVector)
                                .Matches(EF.Functions.WebSearchToTsQuery(TextSearchConfiguration, query)));

    public IQueryable<Deal> DealsMatching(string query) =>
        Deals.Where(d => d.DeletedAt == null
                         && EF.Property<NpgsqlTsVector>(d, SearchVector)
                             .Matches(EF.Functions.WebSearchToTsQuery(TextSearchConfiguration, query)));

    public IQueryable<TResult> SqlQuery<TResult>(FormattableString sql) => Database.SqlQuery<TResult>(sql);

    public void ExpectVersion<TEntity>(TEntity entity, uint version)
        where TEntity : class => Entry(entity).Property("Version").OriginalValue = version;

    public override Task<int> SaveChangesAsync(CancellationToken cancellationToken = default) =>
        DatabaseErrors.TranslateAsync(() => base.SaveChangesAsync(cancellationToken));

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(TenantDbContext).Assembly,
            type => type.Namespace?.EndsWith("Tenant.Configurations", StringComparison.Ordinal) == true);
    }
}

/// <summary>The workflow run a context writes for, and the causation depth of the events its writes raise.</summary>
internal sealed record WorkflowCausation(Guid RunId, int Depth);

/// <summary>Turns database refusals on save into the application's exceptions, for every context.</summary>
internal static class DatabaseErrors
{
    public static async Task<int> TranslateAsync(Func<Task<int>> save)
    {
        try
        {
            return await save();
        }
        catch (DbUpdateConcurrencyException exception)
        {
            throw new ConcurrencyConflictException(exception);
        }
        catch (DbUpdateException exception) when (exception.InnerException is PostgresException postgres && Classify(postgres) is { } kind)
        {
            throw new ConstraintViolationException(kind, postgres.ConstraintName ?? "unknown", exception);
        }
    }

    public static ConstraintKind? Classify(PostgresException exception) => exception.SqlState switch
    {
        PostgresErrorCodes.UniqueViolation => ConstraintKind.Unique,
        PostgresErrorCodes.ForeignKeyViolation => ConstraintKind.ForeignKey,
        PostgresErrorCodes.CheckViolation => ConstraintKind.Check,
        _ => null,
    };
}
