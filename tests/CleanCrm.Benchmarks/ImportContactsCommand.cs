using System.Diagnostics;
using System.Globalization;
using System.Text;
using CleanCrm.Application.Common.Tenancy;
using CleanCrm.Application.Imports;
using CleanCrm.Domain.Catalog;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Imports;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Provisioning;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace CleanCrm.Benchmarks;

internal sealed record ImportContactsOptions(string Catalog, int Rows, int Runs, string SlugPrefix, bool Copy, bool Ef)
{
    public static ImportContactsOptions From(Dictionary<string, string> values)
    {
        var catalog = values.GetValueOrDefault("catalog") ?? throw new ArgumentException("--catalog is required");
        var unknown = values.Keys.Except(["catalog", "rows", "runs", "slug-prefix", "paths"]).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}");
        }

        var rows = values.TryGetValue("rows", out var r) ? int.Parse(r, CultureInfo.InvariantCulture) : 100_000;
        var runs = values.TryGetValue("runs", out var n) ? int.Parse(n, CultureInfo.InvariantCulture) : 3;
        if (rows is < 1 or > ImportLimits.MaxDataRows || runs is < 1 or > 20)
        {
            throw new ArgumentException($"--rows must be 1..{ImportLimits.MaxDataRows}, --runs 1..20");
        }

        var paths = values.GetValueOrDefault("paths") ?? "both";
        if (paths is not ("both" or "copy" or "ef"))
        {
            throw new ArgumentException("--paths must be both, copy or ef");
        }

        return new ImportContactsOptions(catalog, rows, runs, values.GetValueOrDefault("slug-prefix") ?? "bench-import-", paths != "ef",
            paths != "copy");
    }
}

/// <summary>
/// The CSV import benchmark (docs/performance.md): generates a deterministic contacts CSV (10 columns), then imports it
/// into a freshly cloned tenant per run, alternating the product path (upload streamed into the tenant database by
/// <see cref="ImportUploadStore"/>, then <see cref="ContactImporter"/>: streamed parse, binary COPY, set-based merge)
/// and the same import through EF Core <c>SaveChanges</c> (same parser and validation, batches of 1,000, one
/// transaction). Each run starts from empty tables; wall time, the process's peak working set and peak managed heap
/// during the run are printed, and the ratio of the medians.
/// </summary>
internal static class ImportContactsCommand
{
    private static readonly string[] Titles = ["Engineer", "Head of Sales", "CFO", "Buyer", "Office Manager"];
    private static readonly string[] Sources = ["web", "conference", "referral", "partner"];
    private static readonly string[] Tiers = ["gold", "silver", "bronze"];
    private static readonly string[] Regions = ["emea", "amer", "apac", "latam"];

    public static async Task<int> RunAsync(ImportContactsOptions options, CancellationToken cancellationToken)
    {
        await using var services = SeedTenantsCommand.BuildServices(options.Catalog);
        var catalog = services.GetRequiredService<IDbContextFactory<CatalogDbContext>>();
        await SeedTenantsCommand.EnsureUserAsync(catalog, passwordHash: null, cancellationToken);

        // Every run imports into its own freshly cloned tenant database, so both paths start from the same empty tables.
        var slugs = Enumerable.Range(1, 2 + (2 * options.Runs))
            .Select(i => options.SlugPrefix + i.ToString("D4", CultureInfo.InvariantCulture)).ToList();
        var tenants = new Queue<Guid>();
        var onboarding = services.GetRequiredService<TenantOnboarding>();
        foreach (var organization in await SeedTenantsCommand.EnsureOrganizationsAsync(catalog, slugs, cancellationToken))
        {
            if (organization.Status != OrganizationStatus.Active)
            {
                await onboarding.ProvisionAsync(organization.Id, cancellationToken);
            }

            await CleanAsync(services, organization.Id, cancellationToken);
            tenants.Enqueue(organization.Id);
        }

        var csvPath = Path.Combine(Path.GetTempPath(), $"cleancrm-import-{options.Rows}.csv");
        await WriteCsvAsync(csvPath, options.Rows, cancellationToken);
        var csvBytes = new FileInfo(csvPath).Length;
        Log($"CSV: {options.Rows:N0} rows x 10 columns, {csvBytes / 1024.0 / 1024.0:0.0} MiB at {csvPath}; {slugs.Count} tenants ready");

        var warmup = Path.Combine(Path.GetTempPath(), "cleancrm-import-warmup.csv");
        await WriteCsvAsync(warmup, 2_000, cancellationToken);
        var warmCopy = tenants.Dequeue();
        var warmEf = tenants.Dequeue();
        if (options.Copy)
        {
            await RunCopyAsync(services, warmCopy, warmup, cancellationToken);
        }

        if (options.Ef)
        {
            await RunEfAsync(services, warmEf, warmup, cancellationToken);
        }

        var read = await MeasureAsync(() => ReadOnlyAsync(csvPath, cancellationToken));
        Log($"CSV reader only (no validation, no database): {read}");
        var parse = await MeasureAsync(() => ParseOnlyAsync(csvPath, cancellationToken));
        Log($"parse + validate only (no database): {parse}");

        GC.Collect();
        var baseline = Environment.WorkingSet / 1024.0 / 1024.0;
        var copyRuns = new List<Measurement>();
        var efRuns = new List<Measurement>();
        for (var run = 1; run <= options.Runs; run++)
        {
            var copyTenant = tenants.Dequeue();
            if (options.Copy)
            {
                var copy = await MeasureAsync(() => RunCopyAsync(services, copyTenant, csvPath, cancellationToken));
                copyRuns.Add(copy);
                Log($"run {run} COPY : {copy}");
            }

            var efTenant = tenants.Dequeue();
            if (options.Ef)
            {
                var ef = await MeasureAsync(() => RunEfAsync(services, efTenant, csvPath, cancellationToken));
                efRuns.Add(ef);
                Log($"run {run} EF   : {ef}");
            }
        }

        Console.WriteLine(
            $"rows={options.Rows} runs={options.Runs} csv_mib={csvBytes / 1024.0 / 1024.0:0.0} baseline_working_set_mib={baseline:0}");
        if (copyRuns.Count > 0)
        {
            Console.WriteLine($"copy_median_s={Median(copyRuns.Select(r => r.Seconds)):0.000} " +
                $"copy_peak_working_set_mib={copyRuns.Max(r => r.PeakWorkingSetMiB):0} " +
                $"copy_peak_managed_mib={copyRuns.Max(r => r.PeakManagedMiB):0} " +
                $"copy_median_cpu_s={Median(copyRuns.Select(r => r.CpuSeconds)):0.00} " +
                $"copy_median_pg_cpu_s={Median(copyRuns.Select(r => r.ServerCpuSeconds)):0.00}");
        }

        if (efRuns.Count > 0)
        {
            Console.WriteLine($"ef_median_s={Median(efRuns.Select(r => r.Seconds)):0.000} " +
                $"ef_peak_working_set_mib={efRuns.Max(r => r.PeakWorkingSetMiB):0} " +
                $"ef_peak_managed_mib={efRuns.Max(r => r.PeakManagedMiB):0} " +
                $"ef_median_cpu_s={Median(efRuns.Select(r => r.CpuSeconds)):0.00} " +
                $"ef_median_pg_cpu_s={Median(efRuns.Select(r => r.ServerCpuSeconds)):0.00}");
        }

        if (copyRuns.Count > 0 && efRuns.Count > 0)
        {
            Console.WriteLine($"speedup_copy_vs_ef={Median(efRuns.Select(r => r.Seconds)) / Median(copyRuns.Select(r => r.Seconds)):0.0}x");
        }
        File.Delete(csvPath);
        File.Delete(warmup);
        return 0;
    }

    private static async Task<int> RunCopyAsync(IServiceProvider services, Guid organizationId, string csvPath,
        CancellationToken cancellationToken)
    {
        await using var tenant = await services.GetRequiredService<ITenantScopeFactory>().BeginAsync(organizationId, cancellationToken);
        Guid importId;
        await using (var scope = services.CreateAsyncScope())
        {
            var now = DateTimeOffset.UtcNow;
            var import = new Import
            {
                Status = ImportStatus.Queued,
                CreatedAt = now,
                UpdatedAt = now,
                CreatedBy = SeedTenantsCommand.UserId,
                UpdatedBy = SeedTenantsCommand.UserId,
                FileName = Path.GetFileName(csvPath)
            };
            await using var file = new FileStream(csvPath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
            var stored = await scope.ServiceProvider.GetRequiredService<IImportUploadStore>().SaveAsync(import, file, cancellationToken);
            if (!stored.IsSuccess)
            {
                throw new InvalidOperationException(stored.Error!.Detail);
            }

            importId = import.Id;
        }

        await services.GetRequiredService<ContactImporter>().RunAsync(importId, cancellationToken);
        await using var check = services.GetRequiredService<TenantDbContextFactory>().CreateForCurrentScope();
        var result = await check.Imports.AsNoTracking().SingleAsync(i => i.Id == importId, cancellationToken);
        if (result.Status != ImportStatus.Succeeded)
        {
            throw new InvalidOperationException($"import {importId} ended {result.Status}: {result.FailureReason}");
        }

        return result.Inserted;
    }

    private static async Task<int> ReadOnlyAsync(string csvPath, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(csvPath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
        var reader = new CsvRecordReader(file, ImportLimits.MaxFieldLength);
        var record = new List<string>();
        var records = 0;
        while (await reader.ReadAsync(record, cancellationToken))
        {
            records++;
        }

        return records - 1;
    }

    /// <summary>The client-side share of the work: read, parse and validate every row, write nothing.</summary>
    private static async Task<int> ParseOnlyAsync(string csvPath, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(csvPath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
        var reader = new CsvRecordReader(file, ImportLimits.MaxFieldLength);
        var record = new List<string>();
        await reader.ReadAsync(record, cancellationToken);
        var mapping = ContactCsvMapping.FromHeader(record, reader.RecordLine);
        var errors = new List<ImportRowError>();
        var valid = 0;
        while (await reader.ReadAsync(record, cancellationToken))
        {
            errors.Clear();
            if (mapping.Map(record, reader.RecordLine, errors) is not null)
            {
                valid++;
            }
        }

        return valid;
    }

    /// <summary>The same import the way a handler would write it with EF Core: parse, validate, Add, SaveChanges per 1,000.</summary>
    private static async Task<int> RunEfAsync(IServiceProvider services, Guid organizationId, string csvPath,
        CancellationToken cancellationToken)
    {
        await using var tenant = await services.GetRequiredService<ITenantScopeFactory>().BeginAsync(organizationId, cancellationToken);
        await using var db = services.GetRequiredService<TenantDbContextFactory>().CreateForCurrentScope();
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var companies = await db.Companies.AsNoTracking().Where(c => c.DeletedAt == null && c.Domain != null)
            .ToDictionaryAsync(c => c.Domain!, c => c.Id, cancellationToken);
        var emails = (await db.Contacts.AsNoTracking().Where(c => c.DeletedAt == null && c.Email != null).Select(c => c.Email!)
            .ToListAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        await using var file = new FileStream(csvPath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, useAsync: true);
        var reader = new CsvRecordReader(file, ImportLimits.MaxFieldLength);
        var record = new List<string>();
        await reader.ReadAsync(record, cancellationToken);
        var mapping = ContactCsvMapping.FromHeader(record, reader.RecordLine);
        var errors = new List<ImportRowError>();
        var now = DateTimeOffset.UtcNow;
        var inserted = 0;
        var pending = 0;
        while (await reader.ReadAsync(record, cancellationToken))
        {
            errors.Clear();
            if (mapping.Map(record, reader.RecordLine, errors) is not { } row || (row.Email is { } email && !emails.Add(email)))
            {
                continue;
            }

            Guid? companyId = null;
            if (row.CompanyDomain is { } domain)
            {
                if (!companies.TryGetValue(domain, out var id))
                {
                    var company = new Company
                    {
                        Name = row.CompanyName ?? domain,
                        Domain = domain,
                        CreatedAt = now,
                        UpdatedAt = now,
                        CreatedBy = SeedTenantsCommand.UserId,
                        UpdatedBy = SeedTenantsCommand.UserId
                    };
                    db.Companies.Add(company);
                    id = company.Id;
                    companies[domain] = id;
                }

                companyId = id;
            }

            db.Contacts.Add(new Contact
            {
                FirstName = row.FirstName,
                LastName = row.LastName,
                Email = row.Email,
                Phone = row.Phone,
                JobTitle = row.JobTitle,
                Source = row.Source,
                CompanyId = companyId,
                CustomFields = row.CustomFieldsJson,
                CreatedAt = now,
                UpdatedAt = now,
                CreatedBy = SeedTenantsCommand.UserId,
                UpdatedBy = SeedTenantsCommand.UserId,
            });
            inserted++;
            if (++pending == 1_000)
            {
                await db.SaveChangesAsync(cancellationToken);
                db.ChangeTracker.Clear();
                pending = 0;
            }
        }

        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return inserted;
    }

    /// <summary>Re-runs start from empty tables (the tenant role may delete, not vacuum: a fresh slug prefix avoids bloat).</summary>
    private static async Task CleanAsync(IServiceProvider services, Guid organizationId, CancellationToken cancellationToken)
    {
        await using var tenant = await services.GetRequiredService<ITenantScopeFactory>().BeginAsync(organizationId, cancellationToken);
        await using var db = services.GetRequiredService<TenantDbContextFactory>().CreateForCurrentScope();
        await db.Database.ExecuteSqlRawAsync("DELETE FROM contacts; DELETE FROM companies; DELETE FROM imports", cancellationToken);
    }

    private static async Task<Measurement> MeasureAsync(Func<Task<int>> run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long peakWorkingSet = Environment.WorkingSet;
        long peakManaged = GC.GetTotalMemory(false);
        using var stop = new CancellationTokenSource();
        var sampler = new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                peakWorkingSet = Math.Max(peakWorkingSet, Environment.WorkingSet);
                peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
                Thread.Sleep(5);
            }
        })
        { IsBackground = true };
        sampler.Start();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var serverBefore = ServerCpuSeconds();
        var watch = Stopwatch.StartNew();
        var rows = await run();
        watch.Stop();
        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
        var serverCpu = ServerCpuSeconds() - serverBefore;
        await stop.CancelAsync();
        sampler.Join();
        return new Measurement(watch.Elapsed.TotalSeconds, cpu, serverCpu, rows, peakWorkingSet / 1024.0 / 1024.0,
            peakManaged / 1024.0 / 1024.0);
    }

    private static async Task WriteCsvAsync(string path, int rows, CancellationToken cancellationToken)
    {
        await using var writer = new StreamWriter(path, append: false, new UTF8Encoding(false), 1 << 16);
        await writer.WriteAsync("firstName,lastName,email,phone,jobTitle,source,companyDomain,companyName,tier,region\r\n");
        var line = new StringBuilder(200);
        for (var i = 1; i <= rows; i++)
        {
            var company = i % 1000;
            line.Clear();
            line.Append(CultureInfo.InvariantCulture, $"First{i},Last{i},contact{i}@bench-import.example.com,+1 555 " +
                $"{i:D7},{Titles[i % Titles.Length]},{Sources[i % Sources.Length]},");
            line.Append(CultureInfo.InvariantCulture,
                $"company{company}.example.com,\"Company {company}, Inc.\",{Tiers[i % Tiers.Length]},{Regions[i % Regions.Length]}\r\n");
            await writer.WriteAsync(line, cancellationToken);
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static void Log(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    /// <summary>
    /// CPU seconds used by the PostgreSQL server whose postmaster pid is in BENCH_PG_PID (Linux /proc: the postmaster
    /// with its exited children, plus live backends); NaN when unset. Only meaningful when nothing else uses that server.
    /// </summary>
    private static double ServerCpuSeconds()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("BENCH_PG_PID"), NumberStyles.None, CultureInfo.InvariantCulture,
            out var postmaster))
        {
            return double.NaN;
        }

        const double ticks = 100.0;
        long total = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
                if (pid == postmaster)
                {
                    total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
                             + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
                }
                else if (parent == postmaster)
                {
                    total += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                }
            }
            catch (IOException)
            {
            }
        }

        return total / ticks;
    }

    private sealed record Measurement(double Seconds, double CpuSeconds, double ServerCpuSeconds, int Rows, double PeakWorkingSetMiB,
        double PeakManagedMiB)
    {
        public override string ToString() =>
            $"{Rows:N0} rows in {Seconds:0.000} s ({Rows / Seconds:N0} rows/s), process CPU {CpuSeconds:0.00} s, PostgreSQL CPU " +
                $"{ServerCpuSeconds:0.00} s, peak working set {PeakWorkingSetMiB:0} MiB, peak managed heap {PeakManagedMiB:0} MiB";
    }
}
