using System.Diagnostics;
using System.Globalization;
using CleanCrm.Application;
using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace CleanCrm.Benchmarks;

internal sealed record SeedTenantsOptions(string Catalog, int Count, int ContactsPerTenant, int Parallelism, string OutFile,
    string SlugPrefix, string? Password)
{
    public static SeedTenantsOptions From(Dictionary<string, string> values)
    {
        var catalog = values.GetValueOrDefault("catalog") ?? throw new ArgumentException("--catalog is required");
        var count = Int(values, "count", null);
        var contacts = Int(values, "contacts-per-tenant", null);
        var parallelism = Int(values, "parallelism", 4);
        var prefix = values.GetValueOrDefault("slug-prefix") ?? "bench-";
        var outFile = Path.GetFullPath(values.GetValueOrDefault("out") ?? "bench-tenants.txt");
        var password = values.GetValueOrDefault("password") ?? Environment.GetEnvironmentVariable("BENCH_PASSWORD");
        var unknown = values.Keys.Except(["catalog", "count", "contacts-per-tenant", "parallelism", "slug-prefix", "out", "password"])
            .ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}");
        }

        if (count is < 1 or > 9999 || contacts is < 0 or > 1_000_000 || parallelism is < 1 or > 64)
        {
            throw new ArgumentException("--count must be 1..9999, --contacts-per-tenant 0..1000000, --parallelism 1..64");
        }

        if (!Slug.TryCreate(prefix + "0001", out _))
        {
            throw new ArgumentException($"--slug-prefix '{prefix}' does not make valid slugs");
        }

        return new SeedTenantsOptions(catalog, count, contacts, parallelism, outFile, prefix, string.IsNullOrEmpty(password)
            ? null
            : password);
    }

    private static int Int(Dictionary<string, string> values, string name, int? fallback) =>
        values.TryGetValue(name, out var text)
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"--{name} must be a number")
            : fallback ?? throw new ArgumentException($"--{name} is required");
}

/// <summary>
/// Seeds N fully provisioned tenants owned by one fixed user, for the connection-scale benchmark
/// (tests/load/scale-benchmark.sh). Provisioning goes through the product's <see cref="TenantOnboarding"/>; the tenant
/// data is inserted as the server admin with plain SQL (deterministic ids, so re-runs insert nothing).
/// </summary>
internal static class SeedTenantsCommand
{
    /// <summary>The benchmark user; load scripts send <c>Authorization: Dev user=&lt;this&gt;</c>.</summary>
    public static readonly Guid UserId = Guid.Parse("0b0b0b0b-0000-4000-8000-00000000be01", CultureInfo.InvariantCulture);

    private const string UserEmail = "bench-owner@example.com";

    // Deterministic ids: company j of every tenant is 00000000-0000-4000-8000-<j as 12 digits>, contact j ...-9000-...
    private const string InsertCompanies =
        """
        INSERT INTO companies (id, name, domain, industry, employee_count, annual_revenue, currency, custom_fields, created_at, updated_at)
        SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid,
               'Company ' || g, 'company' || g || '.example.com',
               (ARRAY['Software', 'Retail', 'Health', 'Finance', 'Logistics'])[1 + g % 5],
               10 * g, 100000 * g, 'EUR', '{}'::jsonb,
               now() - make_interval(mins => g), now() - make_interval(mins => g)
        FROM generate_series(1, $1) AS g
        ON CONFLICT DO NOTHING
        """;

    private const string InsertContacts =
        """
        INSERT INTO contacts (id, first_name, last_name, email, phone, job_title, company_id, source, custom_fields, created_at, updated_at)
        SELECT ('00000000-0000-4000-9000-' || lpad(g::text, 12, '0'))::uuid,
               'First' || g, 'Last' || g, 'contact' || g || '@example.com', '+1555' || lpad(g::text, 7, '0'), 'Engineer',
               CASE WHEN $2 > 0 THEN ('00000000-0000-4000-8000-' || lpad((1 + (g - 1) % $2)::text, 12, '0'))::uuid END,
               'bench', '{}'::jsonb, now() - make_interval(mins => g), now() - make_interval(mins => g)
        FROM generate_series(1, $1) AS g
        ON CONFLICT DO NOTHING
        """;

    // Deal j of every tenant is 00000000-0000-4000-a000-<j>, in the first stage of the default pipeline, on company j.
    private const string InsertDeals =
        """
        INSERT INTO deals (id, name, pipeline_id, stage_id, amount, currency, probability, status, company_id, primary_contact_id,
                           stage_entered_at, created_at, updated_at)
        SELECT ('00000000-0000-4000-a000-' || lpad(g::text, 12, '0'))::uuid,
               'Deal ' || g, s.pipeline_id, s.id, 1000 * g, 'EUR', s.probability, 'open',
               CASE WHEN $2 > 0 THEN ('00000000-0000-4000-8000-' || lpad((1 + (g - 1) % $2)::text, 12, '0'))::uuid END,
               CASE WHEN $2 > 0 THEN ('00000000-0000-4000-9000-' || lpad((1 + (g - 1) % $2)::text, 12, '0'))::uuid END,
               now(), now() - make_interval(mins => g), now() - make_interval(mins => g)
        FROM generate_series(1, $1) AS g
        CROSS JOIN LATERAL (SELECT st.id, st.pipeline_id, st.probability FROM pipeline_stages st JOIN pipelines p ON p.id = st.pipeline_id
                            WHERE p.is_default AND p.deleted_at IS NULL ORDER BY st.position LIMIT 1) AS s
        ON CONFLICT DO NOTHING
        """;

    public static async Task<int> RunAsync(SeedTenantsOptions options, CancellationToken cancellationToken)
    {
        var total = Stopwatch.StartNew();
        await using var services = BuildServices(options.Catalog);
        var catalog = services.GetRequiredService<IDbContextFactory<CatalogDbContext>>();
        var slugs = Enumerable.Range(1, options.Count).Select(i => options.SlugPrefix + i.ToString("D4", CultureInfo.InvariantCulture))
            .ToList();

        // 1. The owner and the organization rows (pending) with the owner membership.
        var phase = Stopwatch.StartNew();
        await EnsureUserAsync(catalog, options.Password is null ? null : services.GetRequiredService<IPasswordHashing>()
            .Hash(options.Password), cancellationToken);
        var organizations = await EnsureOrganizationsAsync(catalog, slugs, cancellationToken);
        var pending = organizations.Where(o => o.Status != OrganizationStatus.Active).Select(o => o.Id).ToList();
        Log($"catalog rows: {organizations.Count} organizations ({organizations.Count - pending.Count} already active) in " +
            $"{phase.Elapsed.TotalSeconds:0.0} s");

        // 2. Provision what is not active yet, through the real onboarding.
        phase.Restart();
        var onboarding = services.GetRequiredService<TenantOnboarding>();
        var durations = new List<double>();
        var done = 0;
        await Parallel.ForEachAsync(pending,
            new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken }, async (id, ct) =>
        {
            var one = Stopwatch.StartNew();
            await onboarding.ProvisionAsync(id, ct);
            var finished = Interlocked.Increment(ref done);
            lock (durations)
            {
                durations.Add(one.Elapsed.TotalMilliseconds);
            }

            if (finished % 50 == 0 || finished == pending.Count)
            {
                Log($"  provisioned {finished}/{pending.Count} ({phase.Elapsed.TotalSeconds:0} s)");
            }
        });
        if (pending.Count > 0)
        {
            durations.Sort();
            Log($"provisioned {pending.Count} tenants in {phase.Elapsed.TotalSeconds:0.0} s (parallelism {options.Parallelism}; per " +
                $"tenant p50 {Percentile(durations, 0.5):0} ms, p95 {Percentile(durations, 0.95):0} ms, max {durations[^1]:0} ms)");
        }
        else
        {
            Log("provisioning: nothing to do");
        }

        // 3. Tenant data, as the server admin (plain SQL), only where it is missing.
        phase.Restart();
        var seeded = await SeedDataAsync(services, catalog, organizations.Select(o => o.Id).ToList(), options, cancellationToken);
        Log($"tenant data: {seeded} of {organizations.Count} tenants needed rows ({options.ContactsPerTenant} companies + " +
            $"{options.ContactsPerTenant} contacts each) in {phase.Elapsed.TotalSeconds:0.0} s");

        await File.WriteAllLinesAsync(options.OutFile, slugs, cancellationToken);
        Log($"total {total.Elapsed.TotalSeconds:0.0} s");
        Console.WriteLine($"USER_ID={UserId}");
        Console.WriteLine($"SLUGS_FILE={options.OutFile}");
        return 0;
    }

    internal static ServiceProvider BuildServices(string catalogConnectionString)
    {
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["ConnectionStrings:Catalog"] = catalogConnectionString,
                ["CleanCrm:Tenancy:DirectoryCacheSeconds"] = "0",
            })
            .Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<IConfiguration>(configuration);
        services.AddApplication(configuration);
        services.AddInfrastructure(configuration);
        services.AddSingleton<ICallerContext, SystemCaller>();
        return services.BuildServiceProvider();
    }

    /// <summary>The benchmark owner; with a password hash it can also sign in (password grant) for bearer-token runs.</summary>
    internal static async Task EnsureUserAsync(IDbContextFactory<CatalogDbContext> catalog, string? passwordHash,
        CancellationToken cancellationToken)
    {
        await using var db = await catalog.CreateDbContextAsync(cancellationToken);
        if (await db.Users.AnyAsync(u => u.Id == UserId, cancellationToken))
        {
            if (passwordHash is not null)
            {
                await db.Users.Where(u => u.Id == UserId)
                    .ExecuteUpdateAsync(u => u.SetProperty(x => x.PasswordHash, passwordHash), cancellationToken);
            }

            return;
        }

        if (await db.Users.AnyAsync(u => u.NormalizedEmail == UserAccount.Normalize(UserEmail), cancellationToken))
        {
            throw new InvalidOperationException($"{UserEmail} exists with another id than {UserId}; use a fresh catalog.");
        }

        db.Users.Add(new UserAccount
        {
            Id = UserId,
            Email = UserEmail,
            NormalizedEmail = UserAccount.Normalize(UserEmail),
            Name = "Benchmark Owner",
            PasswordHash = passwordHash,
            CreatedAt = DateTimeOffset.UtcNow,
        });
        await db.SaveChangesAsync(cancellationToken);
    }

    internal static async Task<List<(Guid Id, string Slug, OrganizationStatus Status)>> EnsureOrganizationsAsync(
        IDbContextFactory<CatalogDbContext> catalog,
        List<string> slugs,
        CancellationToken cancellationToken)
    {
        foreach (var chunk in slugs.Chunk(250))
        {
            await using var db = await catalog.CreateDbContextAsync(cancellationToken);
            var existing = await db.Organizations.Where(o => chunk.Contains(o.Slug)).Select(o => new { o.Id, o.Slug, o.Status })
                .ToListAsync(cancellationToken);
            if (existing.FirstOrDefault(o => o.Status is OrganizationStatus.Deleting or OrganizationStatus.Deleted) is { } gone)
            {
                throw new InvalidOperationException($"Organization {gone.Slug} is {gone.Status}; use a fresh catalog.");
            }

            var ids = existing.Select(o => o.Id).ToList();
            var members = await db.Memberships.Where(m => m.UserId == UserId && ids.Contains(m.OrganizationId))
                .Select(m => m.OrganizationId).ToListAsync(cancellationToken);
            var now = DateTimeOffset.UtcNow;
            foreach (var slug in chunk)
            {
                var id = existing.FirstOrDefault(o => o.Slug == slug)?.Id;
                if (id is null)
                {
                    var organization = new Organization
                    {
                        Slug = slug,
                        Name = $"Benchmark {slug}",
                        PlanKey = Plan.Enterprise,
                        CreatedAt = now,
                        UpdatedAt = now
                    };
                    db.Organizations.Add(organization);
                    id = organization.Id;
                }

                if (!members.Contains(id.Value))
                {
                    db.Memberships.Add(new Membership
                    {
                        OrganizationId = id.Value,
                        UserId = UserId,
                        Role = OrgRole.Owner,
                        CreatedAt = now,
                        UpdatedAt = now
                    });
                }
            }

            await db.SaveChangesAsync(cancellationToken);
        }

        await using var read = await catalog.CreateDbContextAsync(cancellationToken);
        var rows = await read.Organizations.AsNoTracking().Where(o => slugs.Contains(o.Slug)).Select(o => new { o.Id, o.Slug, o.Status })
            .ToListAsync(cancellationToken);
        return [.. rows.OrderBy(o => o.Slug, StringComparer.Ordinal).Select(o => (o.Id, o.Slug, o.Status))];
    }

    private static async Task<int> SeedDataAsync(
        IServiceProvider services,
        IDbContextFactory<CatalogDbContext> catalog,
        List<Guid> organizationIds,
        SeedTenantsOptions options,
        CancellationToken cancellationToken)
    {
        var admin = services.GetRequiredService<DatabaseServerAdmin>();
        List<Organization> organizations;
        await using (var db = await catalog.CreateDbContextAsync(cancellationToken))
        {
            organizations = await db.Organizations.AsNoTracking().Include(o => o.DatabaseServer).Where(o => organizationIds.Contains(o.Id))
                .ToListAsync(cancellationToken);
        }

        // One admin connection string per server (the password lookup decrypts a secret).
        var serverConnections = new Dictionary<Guid, string>();
        foreach (var server in organizations.Select(o => o.DatabaseServer!).DistinctBy(s => s.Id))
        {
            serverConnections[server.Id] = await admin.ConnectionStringAsync(server, "postgres", cancellationToken);
        }

        var seeded = 0;
        var checkedCount = 0;
        var started = Stopwatch.StartNew();
        await Parallel.ForEachAsync(organizations, new ParallelOptions
        {
            MaxDegreeOfParallelism = options.Parallelism,
            CancellationToken = cancellationToken
        }, async (organization, ct) =>
        {
            var connectionString = new NpgsqlConnectionStringBuilder(
                serverConnections[organization.DatabaseServerId!.Value])
            { Database = organization.DatabaseName }.ConnectionString;
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(ct);
            long companies;
            long contacts;
            long deals;
            await using (var count = new NpgsqlCommand(
                "SELECT (SELECT count(*) FROM companies), (SELECT count(*) FROM contacts), (SELECT count(*) FROM deals)", connection))
            await using (var reader = await count.ExecuteReaderAsync(ct))
            {
                await reader.ReadAsync(ct);
                companies = reader.GetInt64(0);
                contacts = reader.GetInt64(1);
                deals = reader.GetInt64(2);
            }

            if (companies < options.ContactsPerTenant || contacts < options.ContactsPerTenant || deals < options.ContactsPerTenant)
            {
                await using (var insert = new NpgsqlCommand(InsertCompanies, connection))
                {
                    insert.Parameters.AddWithValue(options.ContactsPerTenant);
                    await insert.ExecuteNonQueryAsync(ct);
                }

                await using (var insert = new NpgsqlCommand(InsertContacts, connection))
                {
                    insert.Parameters.AddWithValue(options.ContactsPerTenant);
                    insert.Parameters.AddWithValue(options.ContactsPerTenant);
                    await insert.ExecuteNonQueryAsync(ct);
                }

                await using (var insert = new NpgsqlCommand(InsertDeals, connection))
                {
                    insert.Parameters.AddWithValue(options.ContactsPerTenant);
                    insert.Parameters.AddWithValue(options.ContactsPerTenant);
                    await insert.ExecuteNonQueryAsync(ct);
                }

                await using (var analyze = new NpgsqlCommand("ANALYZE companies; ANALYZE contacts; ANALYZE deals", connection))
                {
                    await analyze.ExecuteNonQueryAsync(ct);
                }

                Interlocked.Increment(ref seeded);
            }

            var finished = Interlocked.Increment(ref checkedCount);
            if (finished % 200 == 0)
            {
                Log($"  tenant data {finished}/{organizations.Count} ({started.Elapsed.TotalSeconds:0} s)");
            }
        });
        return seeded;
    }

    private static double Percentile(List<double> sorted, double p) => sorted.Count == 0
        ? 0
        : sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];

    private static void Log(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    private sealed class SystemCaller : ICallerContext
    {
        public Guid? UserId => null;

        public OrgRole? Role => null;

        public bool IsPlatformAdmin => false;

        public bool IsSystem => true;
    }
}
