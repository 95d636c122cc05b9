using System.Diagnostics;
using System.Text.Json;
using CleanCrm.Application.Common.Validation;
using CleanCrm.Application.Imports;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Tenancy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace CleanCrm.Infrastructure.Imports;

/// <summary>
/// Runs one contacts import in the current tenant scope. The upload is parsed as a stream; valid rows go through binary
/// COPY into a temporary staging table, and one transaction de-duplicates them, matches or creates companies, merges
/// into <c>contacts</c> (INSERT … ON CONFLICT on the live-email index) and records the outcome. A structural problem
/// (bad UTF-8, unmappable header, open quote, too many rows) rolls everything back: the import fails with nothing
/// written. Invalid rows are reported (first <see cref="ImportLimits.StoredRowErrors"/> errors, with line numbers)
/// and the valid rows are imported. Uses two tenant connections: one holds the transaction, the other reads the upload
/// and publishes progress.
/// </summary>
public sealed partial class ContactImporter(
    TenantDbContextFactory contexts, Microsoft.Extensions.Options.IOptions<ImportOptions> options, TimeProvider clock,
    ILogger<ContactImporter> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(500);

    // A million-row merge runs well past Npgsql's default 30 s command timeout on a busy server.
    private static readonly TimeSpan StatementTimeout = TimeSpan.FromMinutes(15);

    public async Task RunAsync(Guid importId, CancellationToken cancellationToken)
    {
        await using var side = contexts.CreateForCurrentScope();
        await side.Database.OpenConnectionAsync(cancellationToken);
        var sideConnection = (NpgsqlConnection)side.Database.GetDbConnection();
        var import = await side.Imports.AsNoTracking().FirstOrDefaultAsync(i => i.Id == importId, cancellationToken);
        var startedAt = clock.GetUtcNow();
        if (import is null || await ClaimAsync(sideConnection, importId, startedAt, startedAt.AddSeconds(-options.Value.StaleAfterSeconds),
            cancellationToken) == 0)
        {
            if (import is not null && await side.Imports.AsNoTracking()
                .AnyAsync(i => i.Id == importId && i.Status == ImportStatus.Running, cancellationToken))
            {
                // Another delivery of this job is importing it, or its worker died recently: ask the queue to come back
                // later; once the row is stale the import is claimed again (nothing of the dead attempt was committed).
                throw new ImportBusyException(importId);
            }

            LogNotClaimed(logger, importId);
            return;
        }

        var progress = new Progress();
        try
        {
            await using var main = contexts.CreateForCurrentScope();
            await main.Database.OpenConnectionAsync(cancellationToken);
            var connection = (NpgsqlConnection)main.Database.GetDbConnection();
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

            // For this transaction only: no JIT (compiling the merge's expressions with LLVM costs more than it saves on
            // 10^5..10^6 rows) and enough memory for the in-file dedupe and company grouping to stay off disk.
            await ExecuteAsync(connection, "SET LOCAL jit = off", cancellationToken);
            await ExecuteAsync(connection, "SET LOCAL work_mem = '64MB'", cancellationToken);
            await ExecuteAsync(connection, StagingTable, cancellationToken);
            await StageAsync(connection, sideConnection, importId, progress, cancellationToken);
            var outcome = await MergeAsync(connection, import, progress, cancellationToken);
            await FinishAsync(connection, importId, outcome, progress, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            LogImported(logger, importId, progress.RowsRead, outcome.Inserted, outcome.Updated, outcome.Skipped, outcome.Failed);
        }
        catch (CsvFormatException exception)
        {
            await FailAsync(sideConnection, importId, exception.Message, progress, CancellationToken.None);
            LogRejected(logger, importId, exception.Line);
        }
        catch (Exception exception)
        {
            var reason = exception is OperationCanceledException
                ? "The worker stopped while importing; nothing was imported. Upload the file again."
                : "The import stopped on an unexpected error; nothing was imported.";
            await FailAsync(sideConnection, importId, reason, progress, CancellationToken.None);
            throw;
        }
    }

    private const string StagingTable =
        """
        CREATE TEMP TABLE import_staging (
            line integer NOT NULL,
            id uuid NOT NULL,
            first_name text, last_name text, email text, phone text, job_title text, source text,
            company_domain text, company_name text,
            custom_fields jsonb NOT NULL,
            company_id uuid
        ) ON COMMIT DROP
        """;

    private static Task<int> ClaimAsync(NpgsqlConnection connection, Guid importId, DateTimeOffset now, DateTimeOffset staleBefore,
        CancellationToken cancellationToken) =>
        ExecuteAsync(
            connection,
            "UPDATE imports SET status = 'running', started_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL AND (status = " +
                "'queued' OR (status = 'running' AND updated_at < $3))",
            cancellationToken,
            now,
            importId,
            staleBefore);

    private async Task StageAsync(NpgsqlConnection connection, NpgsqlConnection sideConnection, Guid importId, Progress progress,
        CancellationToken cancellationToken)
    {
        var reader = new CsvRecordReader(new ImportUploadReadStream(sideConnection, importId), ImportLimits.MaxFieldLength);
        var record = new List<string>();
        if (!await reader.ReadAsync(record, cancellationToken))
        {
            throw new CsvFormatException(1, "the file has no header row.");
        }

        var mapping = ContactCsvMapping.FromHeader(record, reader.RecordLine);
        var rowErrors = new List<ImportRowError>();
        var published = Stopwatch.StartNew();
        await using (var copy = await connection.BeginBinaryImportAsync(
                         "COPY import_staging (line, id, first_name, last_name, email, phone, job_title, source, company_domain, " +
                             "company_name, custom_fields) FROM STDIN (FORMAT BINARY)",
                         cancellationToken))
        {
            copy.Timeout = StatementTimeout;
            while (await reader.ReadAsync(record, cancellationToken))
            {
                if (++progress.RowsRead > ImportLimits.MaxDataRows)
                {
                    throw new CsvFormatException(reader.RecordLine,
                        $"the file has more than {ImportLimits.MaxDataRows:N0} data rows; split it into several imports.");
                }

                rowErrors.Clear();
                if (mapping.Map(record, reader.RecordLine, rowErrors) is not { } row)
                {
                    progress.AddFailedRow(rowErrors);
                }
                else
                {
                    await copy.StartRowAsync(cancellationToken);
                    await copy.WriteAsync(row.Line, NpgsqlDbType.Integer, cancellationToken);
                    await copy.WriteAsync(Guid.CreateVersion7(), NpgsqlDbType.Uuid, cancellationToken);
                    await WriteTextAsync(copy, row.FirstName, cancellationToken);
                    await WriteTextAsync(copy, row.LastName, cancellationToken);
                    await WriteTextAsync(copy, row.Email, cancellationToken);
                    await WriteTextAsync(copy, row.Phone, cancellationToken);
                    await WriteTextAsync(copy, row.JobTitle, cancellationToken);
                    await WriteTextAsync(copy, row.Source, cancellationToken);
                    await WriteTextAsync(copy, row.CompanyDomain, cancellationToken);
                    await WriteTextAsync(copy, row.CompanyName, cancellationToken);
                    await copy.WriteAsync(row.CustomFieldsJson, NpgsqlDbType.Jsonb, cancellationToken);
                    progress.Staged++;
                    progress.WithDomain |= row.CompanyDomain is not null;
                    progress.WithNameOnly |= row.CompanyDomain is null && row.CompanyName is not null;
                }

                if (published.Elapsed >= ProgressInterval)
                {
                    await PublishAsync(sideConnection, importId, progress, cancellationToken);
                    published.Restart();
                }
            }

            await copy.CompleteAsync(cancellationToken);
        }

        await PublishAsync(sideConnection, importId, progress, cancellationToken);
    }

    private static ValueTask WriteTextAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken cancellationToken) =>
        value is null
            ? new ValueTask(copy.WriteNullAsync(cancellationToken))
            : new ValueTask(copy.WriteAsync(value, NpgsqlDbType.Text, cancellationToken));

    private async Task<Outcome> MergeAsync(NpgsqlConnection connection, Import import, Progress progress,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var actor = import.CreatedBy;

        // Within the file the first row with an email wins; later ones are reported against it.
        var duplicates = new List<ImportRowError>();
        var duplicateCount = 0;
        await using (var command = new NpgsqlCommand(DeleteDuplicatesWithinFile, connection)
        {
            CommandTimeout = (int)StatementTimeout.TotalSeconds
        })
        {
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = ImportLimits.StoredRowErrors });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                duplicateCount = (int)reader.GetInt64(2);
                duplicates.Add(new ImportRowError(reader.GetInt32(0), "email",
                    $"duplicates the email of line {reader.GetInt32(1)} in this file; the first row wins."));
            }
        }

        progress.AddRejected(duplicates, duplicateCount);
        if (import.OnDuplicate == DuplicatePolicy.Update)
        {
            // An update merges the row's custom fields into the contact's: the result must keep the limits every other
            // write keeps. Such rows fail with the numbers; the contact is left as it was.
            var oversized = new List<ImportRowError>();
            var oversizedCount = 0;
            await using (var command = new NpgsqlCommand(RemoveOversizedMerges, connection)
            {
                CommandTimeout = (int)StatementTimeout.TotalSeconds
            })
            {
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = FieldRules.MaxCustomFields });
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = FieldRules.MaxCustomFieldsBytes });
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = ImportLimits.StoredRowErrors });
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    oversizedCount = (int)reader.GetInt64(3);
                    oversized.Add(new ImportRowError(
                        reader.GetInt32(0),
                        "customFields",
                        $"merged with the contact's existing custom fields they would be {reader.GetInt64(1)} " +
                            $"fields and {reader.GetInt32(2)} bytes of JSON; at most {FieldRules.MaxCustomFields} fields and " +
                            $"{FieldRules.MaxCustomFieldsBytes / 1024} KB are allowed."));
                }
            }

            progress.AddRejected(oversized, oversizedCount);
            duplicateCount += oversizedCount; // removed from staging like the in-file duplicates
        }

        var companiesCreated = 0L;
        if (progress.WithDomain)
        {
            companiesCreated += await ScalarAsync(connection, CreateCompaniesByDomain, cancellationToken, now, actor);
        }

        if (progress.WithNameOnly)
        {
            companiesCreated += await ScalarAsync(connection, CreateCompaniesByName, cancellationToken, now, actor);
        }

        int inserted, updated;
        await using (var command = new NpgsqlCommand(
            MergeContacts(import.OnDuplicate, progress.WithDomain, progress.WithNameOnly), connection)
        {
            CommandTimeout = (int)StatementTimeout.TotalSeconds
        })
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = now });
            command.Parameters.Add(actor is { } id
                ? new NpgsqlParameter<Guid> { TypedValue = id }
                : new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            inserted = (int)reader.GetInt64(0);
            updated = (int)reader.GetInt64(1);
        }

        var merged = progress.Staged - duplicateCount;
        return new Outcome(inserted, updated, merged - inserted - updated, progress.FailedRows, (int)companiesCreated);
    }

    private async Task FinishAsync(NpgsqlConnection connection, Guid importId, Outcome outcome, Progress progress,
        CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await ExecuteAsync(
            connection,
            """
            UPDATE imports SET status = 'succeeded', rows_read = $1, inserted = $2, updated = $3, skipped = $4, failed = $5,
                companies_created = $6, errors = $7::jsonb, finished_at = $8, updated_at = $8
            WHERE id = $9
            """,
            cancellationToken,
            progress.RowsRead, outcome.Inserted, outcome.Updated, outcome.Skipped, outcome.Failed, outcome.CompaniesCreated,
            progress.ErrorsJson(), now, importId);
        await ExecuteAsync(connection, "DELETE FROM import_upload_chunks WHERE import_id = $1", cancellationToken, importId);

        // Bulk rows bypass EF (and its audit interceptor): one audit entry for the whole import, in the same transaction,
        // acted by the uploader.
        await ExecuteAsync(
            connection,
            """
            INSERT INTO audit_log (id, occurred_at, actor_id, action, entity_type, entity_id, changes, correlation_id)
            SELECT $1, $2, created_by, 'imported', 'import', id,
                   jsonb_build_object('inserted', $3, 'updated', $4, 'skipped', $5, 'failed', $6, 'companiesCreated', $7, 'rowsRead', $8), $9
            FROM imports WHERE id = $10
            """,
            cancellationToken,
            Guid.CreateVersion7(), now, outcome.Inserted, outcome.Updated, outcome.Skipped, outcome.Failed, outcome.CompaniesCreated,
                progress.RowsRead,
            System.Diagnostics.Activity.Current?.TraceId.ToHexString(), importId);
    }

    private async Task FailAsync(NpgsqlConnection connection, Guid importId, string reason, Progress progress,
        CancellationToken cancellationToken)
    {
        try
        {
            var now = clock.GetUtcNow();
            await ExecuteAsync(
                connection,
                """
                UPDATE imports SET status = 'failed', failure_reason = $1, rows_read = $2, inserted = 0, updated = 0, skipped = 0,
                    failed = $3, companies_created = 0, errors = $4::jsonb, finished_at = $5, updated_at = $5
                WHERE id = $6
                """,
                cancellationToken,
                reason.Length > 2000 ? reason[..2000] : reason, progress.RowsRead, progress.FailedRows, progress.ErrorsJson(), now,
                importId);
            await ExecuteAsync(connection, "DELETE FROM import_upload_chunks WHERE import_id = $1", cancellationToken, importId);
        }
        catch (Exception exception) when (exception is NpgsqlException or InvalidOperationException)
        {
            LogFailRecordFailed(logger, exception, importId);
        }
    }

    private async Task PublishAsync(NpgsqlConnection connection, Guid importId, Progress progress, CancellationToken cancellationToken) =>
        await ExecuteAsync(connection, "UPDATE imports SET rows_read = $1, failed = $2, updated_at = $3 WHERE id = $4", cancellationToken,
            progress.RowsRead, progress.FailedRows, clock.GetUtcNow(), importId);

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken,
        params object?[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken,
        params object?[] parameters)
    {
        await using var command = Command(connection, sql, parameters);
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, object?[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection) { CommandTimeout = (int)StatementTimeout.TotalSeconds };
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(parameter is null
                ? new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid }
                : new NpgsqlParameter { Value = parameter });
        }

        return command;
    }

    private const string DeleteDuplicatesWithinFile =
        """
        WITH firsts AS (
            SELECT email, min(line) AS first_line FROM import_staging WHERE email IS NOT NULL GROUP BY email HAVING count(*) > 1),
        removed AS (
            DELETE FROM import_staging s USING firsts f WHERE s.email = f.email AND s.line > f.first_line
            RETURNING s.line, f.first_line)
        SELECT line, first_line, count(*) OVER () FROM removed ORDER BY line LIMIT $1
        """;

    private const string RemoveOversizedMerges =
        """
        WITH merged AS (
            SELECT s.line, c.custom_fields || s.custom_fields AS fields
            FROM import_staging s JOIN contacts c ON c.email = s.email AND c.deleted_at IS NULL
            WHERE s.custom_fields <> '{}'::jsonb),
        measured AS (
            SELECT line, (SELECT count(*) FROM jsonb_object_keys(fields)) AS keys, octet_length(fields::text) AS bytes FROM merged),
        removed AS (
            DELETE FROM import_staging s USING measured m
            WHERE s.line = m.line AND (m.keys > $1 OR m.bytes > $2)
            RETURNING s.line, m.keys, m.bytes)
        SELECT line, keys, bytes, count(*) OVER () FROM removed ORDER BY line LIMIT $3
        """;

    private const string CreateCompaniesByDomain =
        """
        WITH wanted AS (
            SELECT company_domain AS domain, (array_agg(company_name ORDER BY line) FILTER (WHERE company_name IS NOT NULL))[1] AS name
            FROM import_staging WHERE company_domain IS NOT NULL GROUP BY company_domain),
        created AS (
            INSERT INTO companies (id, name, domain, custom_fields, created_at, updated_at, created_by, updated_by)
            SELECT gen_random_uuid(), coalesce(w.name, left(w.domain, 200)), w.domain, '{}'::jsonb, $1, $1, $2, $2
            FROM wanted w
            WHERE NOT EXISTS (SELECT 1 FROM companies c WHERE c.domain = w.domain AND c.deleted_at IS NULL)
            ON CONFLICT (domain) WHERE deleted_at IS NULL DO NOTHING
            RETURNING 1)
        SELECT count(*) FROM created
        """;

    private const string CreateCompaniesByName =
        """
        WITH wanted AS (
            SELECT lower(company_name) AS key, (array_agg(company_name ORDER BY line))[1] AS name
            FROM import_staging WHERE company_domain IS NULL AND company_name IS NOT NULL GROUP BY lower(company_name)),
        created AS (
            INSERT INTO companies (id, name, custom_fields, created_at, updated_at, created_by, updated_by)
            SELECT gen_random_uuid(), w.name, '{}'::jsonb, $1, $1, $2, $2
            FROM wanted w
            WHERE NOT EXISTS (SELECT 1 FROM companies c WHERE lower(c.name) = w.key AND c.deleted_at IS NULL)
            RETURNING 1)
        SELECT count(*) FROM created
        """;

    /// <summary>
    /// One INSERT … SELECT from the staging table: the company is joined by domain, or by name (the oldest live company
    /// of that name) for rows without a domain; a live contact with the same email is left alone or updated with the
    /// row's non-empty values (custom fields merged). <c>xmax = 0</c> tells inserted rows from updated ones.
    /// </summary>
    private static string MergeContacts(DuplicatePolicy policy, bool withDomain, bool withNameOnly)
    {
        var company = (withDomain, withNameOnly) switch
        {
            (true, true) => "coalesce(cd.id, cn.id)",
            (true, false) => "cd.id",
            (false, true) => "cn.id",
            _ => "NULL::uuid",
        };
        var joins = (withDomain
            ? "\nLEFT JOIN companies cd ON s.company_domain IS NOT NULL AND cd.domain = s.company_domain AND cd.deleted_at IS NULL"
            : string.Empty)
                    + (withNameOnly
                        ? """

                          LEFT JOIN (SELECT DISTINCT ON (lower(name)) id, lower(name) AS key FROM companies WHERE deleted_at IS NULL ORDER BY lower(name), created_at, id) cn
                              ON s.company_domain IS NULL AND s.company_name IS NOT NULL AND lower(s.company_name) = cn.key
                          """
                        : string.Empty);
        var onConflict = policy == DuplicatePolicy.Update
            ? """
              DO UPDATE SET
                  first_name = coalesce(EXCLUDED.first_name, contacts.first_name),
                  last_name = coalesce(EXCLUDED.last_name, contacts.last_name),
                  phone = coalesce(EXCLUDED.phone, contacts.phone),
                  job_title = coalesce(EXCLUDED.job_title, contacts.job_title),
                  company_id = coalesce(EXCLUDED.company_id, contacts.company_id),
                  source = coalesce(EXCLUDED.source, contacts.source),
                  custom_fields = contacts.custom_fields || EXCLUDED.custom_fields,
                  updated_at = EXCLUDED.updated_at,
                  updated_by = EXCLUDED.updated_by
              """
            : "DO NOTHING";
        return $"""
                WITH merged AS (
                    INSERT INTO contacts (id, first_name, last_name, email, phone, job_title, company_id, source, custom_fields, created_at, updated_at, created_by, updated_by)
                    SELECT s.id, s.first_name, s.last_name, s.email, s.phone, s.job_title, {company}, s.source, s.custom_fields, $1, $1, $2, $2
                    FROM import_staging s{joins}
                    ON CONFLICT (email) WHERE deleted_at IS NULL {onConflict}
                    RETURNING (xmax = 0) AS inserted)
                SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM merged
                """;
    }

    private sealed record Outcome(int Inserted, int Updated, int Skipped, int Failed, int CompaniesCreated);

    /// <summary>Counts and the first row errors; failed rows are counted once however many errors they have.</summary>
    private sealed class Progress
    {
        private readonly List<ImportRowError> _errors = [];

        public int RowsRead { get; set; }

        public int Staged { get; set; }

        /// <summary>Some staged row names a company domain (so companies are matched or created by domain).</summary>
        public bool WithDomain { get; set; }

        /// <summary>Some staged row names a company without a domain (matched or created by name).</summary>
        public bool WithNameOnly { get; set; }

        public int FailedRows { get; private set; }

        public void AddFailedRow(List<ImportRowError> errors)
        {
            FailedRows++;
            foreach (var error in errors)
            {
                if (_errors.Count < ImportLimits.StoredRowErrors)
                {
                    _errors.Add(error);
                }
            }
        }

        public void AddRejected(List<ImportRowError> firstRejected, int count)
        {
            FailedRows += count;
            _errors.AddRange(firstRejected);
            _errors.Sort((a, b) => a.Line.CompareTo(b.Line));
            if (_errors.Count > ImportLimits.StoredRowErrors)
            {
                _errors.RemoveRange(ImportLimits.StoredRowErrors, _errors.Count - ImportLimits.StoredRowErrors);
            }
        }

        public string ErrorsJson() => JsonSerializer.Serialize(_errors, Json);
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Import {ImportId}: {RowsRead} rows read, {Inserted} inserted, {Updated} updated, {Skipped} skipped, {Failed} failed")]
    private static partial void LogImported(ILogger logger, Guid importId, int rowsRead, int inserted, int updated, int skipped,
        int failed);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Import {ImportId} rejected: the file is malformed at line {Line}; nothing was imported")]
    private static partial void LogRejected(ILogger logger, Guid importId, int line);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Import {ImportId} was not queued (already running, finished or deleted); nothing to do")]
    private static partial void LogNotClaimed(ILogger logger, Guid importId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not record the failure of import {ImportId}")]
    private static partial void LogFailRecordFailed(ILogger logger, Exception exception, Guid importId);
}

/// <summary>The import is being run by another delivery of its job (or was orphaned too recently to take over).</summary>
public sealed class ImportBusyException(Guid importId) : Exception(
    $"Import {importId} is running elsewhere or was orphaned less than the stale period ago; retry later.");
