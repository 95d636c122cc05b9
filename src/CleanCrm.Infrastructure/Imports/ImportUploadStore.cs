using System.Buffers;
using System.ComponentModel.DataAnnotations;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Imports;
using CleanCrm.Domain.Tenant;
using CleanCrm.Infrastructure.Persistence.Tenant;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace CleanCrm.Infrastructure.Imports;

/// <summary>Import settings (section <c>CleanCrm:Imports</c>).</summary>
public sealed class ImportOptions
{
    public const string SectionName = "CleanCrm:Imports";

    /// <summary>
    /// Largest CSV file accepted by <c>POST /api/v1/imports/contacts</c> (bytes; default 256 MiB, about 1,048,576 rows of
    /// 250 bytes). The endpoint's request-body limit is this plus <see cref="UploadChunkBytes"/> for multipart framing.
    /// </summary>
    [Range(1_024, 4_294_967_296)]
    public long MaxUploadBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// A <c>running</c> import whose row has not changed for this long is taken to be orphaned by a worker that died (its
    /// transaction rolled back, nothing was written) and is claimed again by the next delivery of its job. Longer than
    /// the importer's 15-minute statement timeout, so a live merge is never taken over.
    /// </summary>
    [Range(960, 86_400)]
    public int StaleAfterSeconds { get; set; } = 1_200;

    /// <summary>The upload is kept in the tenant database in slices of this size until the job has read it.</summary>
    public const int UploadChunkBytes = 1024 * 1024;
}

/// <summary>
/// Streams an upload into <c>import_upload_chunks</c> of the tenant database (1 MiB at a time, never the whole file in
/// memory) in the same transaction as the import row, so a worker on any machine can read it and a failed upload
/// leaves nothing behind.
/// </summary>
public sealed class ImportUploadStore(TenantDbContext db, IOptions<ImportOptions> options, TimeProvider clock) : IImportUploadStore
{
    public async Task AbandonAsync(Guid importId, string reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await db.Database.ExecuteSqlAsync(
            $"""
             UPDATE imports SET status = 'failed', failure_reason = {reason}, finished_at = {now}, updated_at = {now} WHERE id = {importId} AND status = 'queued';
             DELETE FROM import_upload_chunks WHERE import_id = {importId};
             """,
            cancellationToken);
    }

    public async Task<Result<long>> SaveAsync(Import import, Stream content, CancellationToken cancellationToken)
    {
        var limit = options.Value.MaxUploadBytes;
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        db.Imports.Add(import);
        await db.SaveChangesAsync(cancellationToken);

        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var buffer = ArrayPool<byte>.Shared.Rent(ImportOptions.UploadChunkBytes);
        try
        {
            long total = 0;
            var sequence = 0;
            await using var insert = new NpgsqlCommand("INSERT INTO import_upload_chunks (import_id, sequence, data) VALUES ($1, $2, $3)",
                connection, (NpgsqlTransaction)transaction.GetDbTransaction());
            var id = new NpgsqlParameter<Guid> { TypedValue = import.Id };
            var seq = new NpgsqlParameter<int>();
            var data = new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea };
            insert.Parameters.Add(id);
            insert.Parameters.Add(seq);
            insert.Parameters.Add(data);
            while (true)
            {
                var filled = await FillAsync(content, buffer, ImportOptions.UploadChunkBytes, cancellationToken);
                if (filled == 0)
                {
                    break;
                }

                total += filled;
                if (total > limit)
                {
                    return ImportErrors.TooLarge(limit);
                }

                seq.TypedValue = sequence++;
                data.Value = new ArraySegment<byte>(buffer, 0, filled);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }

            if (total == 0)
            {
                return ImportErrors.Empty();
            }

            await using (var size = new NpgsqlCommand("UPDATE imports SET size_bytes = $1 WHERE id = $2", connection,
                (NpgsqlTransaction)transaction.GetDbTransaction()))
            {
                size.Parameters.Add(new NpgsqlParameter<long> { TypedValue = total });
                size.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = import.Id });
                await size.ExecuteNonQueryAsync(cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            import.SizeBytes = total;
            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<int> FillAsync(Stream content, byte[] buffer, int size, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < size)
        {
            var read = await content.ReadAsync(buffer.AsMemory(filled, size - filled), cancellationToken);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }
}

/// <summary>Reads an upload back, one chunk per query, so the connection is free between reads for progress updates.</summary>
internal sealed class ImportUploadReadStream(NpgsqlConnection connection, Guid importId) : Stream
{
    private byte[] _chunk = [];
    private int _offset;
    private int _sequence;
    private bool _done;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _chunk.Length)
        {
            if (_done)
            {
                return 0;
            }

            await using var select =
                new NpgsqlCommand("SELECT data FROM import_upload_chunks WHERE import_id = $1 AND sequence = $2", connection);
            select.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = importId });
            select.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _sequence++ });
            if (await select.ExecuteScalarAsync(cancellationToken) is byte[] next)
            {
                _chunk = next;
                _offset = 0;
            }
            else
            {
                _done = true;
                _chunk = [];
                _offset = 0;
            }
        }

        var count = Math.Min(buffer.Length, _chunk.Length - _offset);
        _chunk.AsMemory(_offset, count).CopyTo(buffer);
        _offset += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
