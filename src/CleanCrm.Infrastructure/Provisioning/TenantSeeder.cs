using System.Text.Json;
using CleanCrm.Application.Common.Json;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Persistence.Catalog;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>Seeds a new tenant from provisioning/seed: the members from the catalog and the default pipeline. Idempotent.</summary>
public sealed class TenantSeeder(TimeProvider clock)
{
    private static readonly PipelineSeed DefaultPipeline = LoadSeed<PipelineSeed>("default-pipeline.json");

    public async Task SeedAsync(CatalogDbContext catalog, NpgsqlConnection tenant, Organization organization,
        CancellationToken cancellationToken)
    {
        await SeedMembersAsync(catalog, tenant, organization.Id, cancellationToken);
        await SeedDefaultPipelineAsync(tenant, cancellationToken);
    }

    public async Task SeedMembersAsync(CatalogDbContext catalog, NpgsqlConnection tenant, Guid organizationId,
        CancellationToken cancellationToken)
    {
        var members = await catalog.Memberships.AsNoTracking()
            .Where(m => m.OrganizationId == organizationId)
            .Select(m => new { m.UserId, m.User!.Email, m.User.Name, m.Role })
            .ToListAsync(cancellationToken);
        var now = clock.GetUtcNow();
        foreach (var member in members)
        {
            await using var command = new NpgsqlCommand(
                """
                INSERT INTO members (id, email, name, role, is_active, created_at, updated_at)
                VALUES ($1, $2, $3, $4, true, $5, $5)
                ON CONFLICT (id) DO UPDATE SET email = excluded.email, name = excluded.name, role = excluded.role, is_active = true, updated_at = excluded.updated_at
                """,
                tenant);
            command.Parameters.AddWithValue(member.UserId);
            command.Parameters.AddWithValue(member.Email);
            command.Parameters.AddWithValue(member.Name);
            command.Parameters.AddWithValue(JsonNamingPolicy.SnakeCaseLower.ConvertName(member.Role.ToString()));
            command.Parameters.AddWithValue(now);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private async Task SeedDefaultPipelineAsync(NpgsqlConnection tenant, CancellationToken cancellationToken)
    {
        await using var transaction = await tenant.BeginTransactionAsync(cancellationToken);
        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pipelines WHERE is_default AND deleted_at IS NULL", tenant, transaction))
        {
            if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
            {
                return;
            }
        }

        var now = clock.GetUtcNow();
        var pipelineId = Guid.CreateVersion7();
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO pipelines (id, name, is_default, created_at, updated_at) VALUES ($1, $2, true, $3, $3)", tenant, transaction))
        {
            insert.Parameters.AddWithValue(pipelineId);
            insert.Parameters.AddWithValue(DefaultPipeline.Name);
            insert.Parameters.AddWithValue(now);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var (stage, position) in DefaultPipeline.Stages.Select((stage, index) => (stage, index)))
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO pipeline_stages (id, pipeline_id, name, position, probability, kind) VALUES ($1, $2, $3, $4, $5, $6)", tenant,
                transaction);
            insert.Parameters.AddWithValue(Guid.CreateVersion7());
            insert.Parameters.AddWithValue(pipelineId);
            insert.Parameters.AddWithValue(stage.Name);
            insert.Parameters.AddWithValue(position);
            insert.Parameters.AddWithValue(stage.Probability);
            insert.Parameters.AddWithValue(stage.Kind);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static T LoadSeed<T>(string file)
    {
        using var stream = typeof(TenantSeeder).Assembly.GetManifestResourceStream("seed." + file)
                           ?? throw new InvalidOperationException($"Seed file provisioning/seed/{file} is not embedded in the build.");
        return JsonSerializer.Deserialize<T>(stream, ApiJson.Options) ?? throw new InvalidOperationException($"Seed file {file} is empty.");
    }

    private sealed record PipelineSeed(string Name, IReadOnlyList<StageSeed> Stages);

    private sealed record StageSeed(string Name, int Probability, string Kind);
}
