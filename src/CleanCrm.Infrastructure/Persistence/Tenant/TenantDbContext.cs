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

    internal TenantDbContext(DbContextOptions<TenantDbContext> options, TenantConnectionHandle connection)
        : base(options) => Connection = connection;

    /// <summary>The budgeted connection this context uses; null at design time and for the migrator.</summary>
    internal TenantConnectionHandle? Connection { get; }

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

    public IQueryable<Company> CompaniesMatching(string query) =>
        Companies.Where(c => c.DeletedAt == null
                             && EF.Property<NpgsqlTsVector>(c, SearchVector).Matches(EF.Functions.WebSearchToTsQuery(TextSearchConfiguration, query)));

    public IQueryable<Contact> ContactsMatching(string query) =>
        Contacts.Where(c => c.DeletedAt == null
                            && EF.Property<NpgsqlTsVector>(c, SearchVector).Matches(EF.Functions.WebSearchToTsQuery(TextSearchConfiguration, query)));

    public IQueryable<Deal> DealsMatching(string query) =>
        Deals.Where(d => d.DeletedAt == null
                         && EF.Property<NpgsqlTsVector>(d, SearchVector).Matches(EF.Functions.WebSearchToTsQuery(TextSearchConfiguration, query)));

    public void ExpectVersion<TEntity>(TEntity entity, uint version)
        where TEntity : class => Entry(entity).Property("Version").OriginalValue = version;

    public override Task<int> SaveChangesAsync(CancellationToken cancellationToken = default) =>
        DatabaseErrors.TranslateAsync(() => base.SaveChangesAsync(cancellationToken));

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(TenantDbContext).Assembly, type => type.Namespace?.EndsWith("Tenant.Configurations", StringComparison.Ordinal) == true);
    }
}

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
