using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using CleanCrm.Application.Common.Json;
using CleanCrm.Application.Deals;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Options;
using CleanCrm.Infrastructure.Persistence.Catalog;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CleanCrm.Benchmarks;

internal sealed record ServeApiOptions(int Port)
{
    public static ServeApiOptions From(Dictionary<string, string> values)
    {
        var unknown = values.Keys.Except(["port"]).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown option(s): {string.Join(", ", unknown.Select(u => "--" + u))}");
        }

        return values.TryGetValue("port", out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            && port is > 0 and < 65536
            ? new ServeApiOptions(port)
            : throw new ArgumentException("--port <1..65535> is required");
    }
}

/// <summary>
/// Hosts the real API (its Program, configuration from the environment) on Kestrel, plus one route that exists only
/// here: <c>GET /bench/bare/deals/{id}</c> with <c>X-Org</c>, which runs the same SQL as <c>GET /api/v1/deals/{id}</c>
/// with raw Npgsql on the same tenant database, without authentication, org resolution, mediator or EF. The pair is the
/// read-path overhead benchmark (docs/performance.md).
/// </summary>
internal static class ServeApiCommand
{
    public static async Task<int> RunAsync(ServeApiOptions options, CancellationToken cancellationToken)
    {
        await using var factory = new BenchmarkApiFactory();
        factory.UseKestrel(options.Port);
        factory.StartServer();
        Console.WriteLine($"READY http://127.0.0.1:{options.Port}");
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    private sealed class BenchmarkApiFactory : WebApplicationFactory<global::Program>
    {
        // The API's appsettings*.json are copied next to this tool; the factory would otherwise look for a source folder.
        // The factory forces Development; the benchmark script chooses the environment (ASPNETCORE_ENVIRONMENT).
        protected override void ConfigureWebHost(IWebHostBuilder builder) =>
            builder.UseContentRoot(AppContext.BaseDirectory)
                .UseEnvironment(Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") is { Length: > 0 } environment
                    ? environment
                    : "Development")
                .ConfigureServices(services =>
                {
                    services.AddSingleton<BareDealEndpoint>();
                    services.AddSingleton<EfDealEndpoint>();
                    services.AddTransient<IStartupFilter, BareRouteStartupFilter>();
                });
    }

    private sealed class BareRouteStartupFilter(BareDealEndpoint endpoint, EfDealEndpoint ef) : IStartupFilter
    {
        // Mapped in front of the whole pipeline: nothing of the product's middleware runs for it.
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Map("/bench/bare/deals", bare => bare.Run(endpoint.HandleAsync));
            app.Map("/bench/ef/deals", route => route.Run(ef.HandleAsync));
            next(app);
        };
    }
}

/// <summary>Raw Npgsql on the tenant database (admin role; pool size and auto-prepare like the API's per-tenant pool).</summary>
internal sealed class BareDealEndpoint(IDbContextFactory<CatalogDbContext> catalog, DatabaseServerAdmin admin,
    IOptions<TenancyOptions> tenancy) : IAsyncDisposable
{
    // The statement EF sends for GetDeal (compiled query), column for column.
    private const string Sql =
        """
        SELECT d.id, d.amount, d.closed_at, d.company_id, d.created_at, d.created_by, d.currency, d.deleted_at, d.expected_close_date, d.lost_reason,
               d.name, d.owner_id, d.pipeline_id, d.primary_contact_id, d.probability, d.stage_entered_at, d.stage_id, d.status, d.updated_at, d.updated_by, d.xmin
        FROM deals AS d
        WHERE d.id = @id AND d.deleted_at IS NULL
        LIMIT 1
        """;

    private readonly ConcurrentDictionary<string, Lazy<Task<NpgsqlDataSource>>> _sources = new(StringComparer.Ordinal);

    public async Task HandleAsync(HttpContext context)
    {
        var slug = context.Request.Headers["X-Org"].ToString();
        if (slug.Length == 0 || !Guid.TryParse(context.Request.Path.Value?.Trim('/'), out var id))
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        var source = await _sources.GetOrAdd(slug, s => new Lazy<Task<NpgsqlDataSource>>(() => OpenAsync(s))).Value;
        await using var connection = await source.OpenConnectionAsync(context.RequestAborted);
        await using var command = new NpgsqlCommand(Sql, connection);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(context.RequestAborted);
        if (!await reader.ReadAsync(context.RequestAborted))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var deal = new Deal
        {
            Id = reader.GetGuid(0),
            Amount = reader.IsDBNull(1) ? null : reader.GetInt64(1),
            ClosedAt = reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTimeOffset>(2),
            CompanyId = reader.IsDBNull(3) ? null : reader.GetGuid(3),
            CreatedAt = reader.GetFieldValue<DateTimeOffset>(4),
            Currency = reader.IsDBNull(6) ? null : reader.GetString(6),
            ExpectedCloseDate = reader.IsDBNull(8) ? null : reader.GetFieldValue<DateOnly>(8),
            LostReason = reader.IsDBNull(9) ? null : reader.GetString(9),
            Name = reader.GetString(10),
            OwnerId = reader.IsDBNull(11) ? null : reader.GetGuid(11),
            PipelineId = reader.GetGuid(12),
            PrimaryContactId = reader.IsDBNull(13) ? null : reader.GetGuid(13),
            Probability = reader.GetInt32(14),
            StageEnteredAt = reader.GetFieldValue<DateTimeOffset>(15),
            StageId = reader.GetGuid(16),
            Status = Enum.Parse<DealStatus>(reader.GetString(17), ignoreCase: true),
            UpdatedAt = reader.GetFieldValue<DateTimeOffset>(18),
            Version = reader.GetFieldValue<uint>(20),
        };
        var dto = DealDto.From(deal);
        context.Response.Headers.ETag = $"\"{dto.Version.ToString(CultureInfo.InvariantCulture)}\"";
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, dto, ApiJson.Options, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var source in _sources.Values.Where(s => s.IsValueCreated))
        {
            await (await source.Value).DisposeAsync();
        }
    }

    private async Task<NpgsqlDataSource> OpenAsync(string slug)
    {
        await using var db = await catalog.CreateDbContextAsync();
        var organization = await db.Organizations.AsNoTracking().Include(o => o.DatabaseServer).SingleAsync(o => o.Slug == slug);
        var connectionString =
            await admin.ConnectionStringAsync(organization.DatabaseServer!, organization.DatabaseName!, CancellationToken.None);
        // The admin connection string is unpooled (it is for DDL); use the data-source settings of the tenant pool.
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = true,
            MaxPoolSize = tenancy.Value.PerTenantMaxPoolSize,
            MaxAutoPrepare = tenancy.Value.PgBouncer ? 0 : 32,
            AutoPrepareMinUsages = 2,
            NoResetOnClose = tenancy.Value.PgBouncer,
            ApplicationName = "cleancrm-bare",
        };
        return NpgsqlDataSource.Create(builder.ConnectionString);
    }
}

/// <summary>
/// The product's data path without its HTTP pipeline: a DI scope, the tenant scope (catalog lookup cached, data source
/// pinned), the scoped pooled <c>TenantDbContext</c> with its budgeted connection, and the same handler as
/// <c>GET /api/v1/deals/{id}</c>. Between the bare endpoint and the full stack, it splits the gap into "tenant data path"
/// and "HTTP pipeline, authentication, org resolution and mediator".
/// </summary>
internal sealed class EfDealEndpoint(IServiceScopeFactory scopes, TenantDirectory directory, TenantScopeFactory tenantScopes)
{
    public async Task HandleAsync(HttpContext context)
    {
        var slug = context.Request.Headers["X-Org"].ToString();
        if (slug.Length == 0 || !Guid.TryParse(context.Request.Path.Value?.Trim('/'), out var id)
            || await directory.FindBySlugAsync(slug, context.RequestAborted) is not { } location)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        await using var tenant = await tenantScopes.BeginAsync(location, context.RequestAborted);
        var handler = new CleanCrm.Application.Deals.Queries.GetDeal.GetDealHandler(
            scope.ServiceProvider.GetRequiredService<CleanCrm.Application.Common.Persistence.ITenantDbContext>());
        var result = await handler.Handle(new CleanCrm.Application.Deals.Queries.GetDeal.GetDeal(id), context.RequestAborted);
        if (!result.IsSuccess)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.Headers.ETag = $"\"{result.Value.Version.ToString(CultureInfo.InvariantCulture)}\"";
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, result.Value, ApiJson.Options, context.RequestAborted);
    }
}
