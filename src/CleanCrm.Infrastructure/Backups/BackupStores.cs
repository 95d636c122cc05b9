using System.Security.Cryptography;
using Azure;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Backups;

/// <summary>Where backup files live. Locations are relative keys like <c>{orgId}/{backupId}.dump</c>.</summary>
public interface IBackupStore
{
    /// <summary>The store's name in the catalog (<c>filesystem</c>, <c>azure_blob</c>).</summary>
    string Kind { get; }

    /// <summary>Writes the stream, read once to its end, to a new file at <paramref name="location"/>.</summary>
    Task WriteAsync(string location, Stream content, CancellationToken cancellationToken);

    /// <summary>Opens the file with its length, or null when it does not exist.</summary>
    Task<(Stream Content, long Length)?> OpenReadAsync(string location, CancellationToken cancellationToken);

    /// <summary>Deletes the file; a missing file is not an error.</summary>
    Task DeleteAsync(string location, CancellationToken cancellationToken);
}

public sealed class FileSystemBackupStore(IOptions<BackupOptions> options) : IBackupStore
{
    public const string KindName = "filesystem";

    public string Kind => KindName;

    private string Root => Path.GetFullPath(options.Value.FileSystemRoot);

    public async Task WriteAsync(string location, Stream content, CancellationToken cancellationToken)
    {
        var path = PathOf(location);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var partial = path + ".partial";
        try
        {
            await using var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 81_920, useAsync: true);
            await content.CopyToAsync(file, 81_920, cancellationToken);
            await file.FlushAsync(cancellationToken);
        }
        catch
        {
            File.Delete(partial);
            throw;
        }

        // Readers never see a half-written dump under the final name.
        File.Move(partial, path, overwrite: true);
    }

    public Task<(Stream Content, long Length)?> OpenReadAsync(string location, CancellationToken cancellationToken)
    {
        var path = PathOf(location);
        if (!File.Exists(path))
        {
            return Task.FromResult<(Stream, long)?>(null);
        }

        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81_920, useAsync: true);
        return Task.FromResult<(Stream, long)?>((stream, stream.Length));
    }

    public Task DeleteAsync(string location, CancellationToken cancellationToken)
    {
        File.Delete(PathOf(location));
        return Task.CompletedTask;
    }

    /// <summary>The file behind a location; refuses anything that would leave the root.</summary>
    public string PathOf(string location)
    {
        var root = Root;
        var path = Path.GetFullPath(Path.Combine(root, location));
        if (!path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Backup location '{location}' is outside the store.", nameof(location));
        }

        return path;
    }
}

/// <summary>Azure Blob Storage (block blobs in one container); uploads are chunked, so a dump is never held whole in memory.</summary>
public sealed class AzureBlobBackupStore : IBackupStore
{
    public const string KindName = "azure_blob";

    private readonly BlobContainerClient _container;
    private readonly SemaphoreSlim _created = new(1, 1);
    private bool _exists;

    public AzureBlobBackupStore(IOptions<BackupOptions> options)
    {
        var settings = options.Value.AzureBlob;
        var service = settings.ConnectionString is { Length: > 0 } connectionString
            ? new BlobServiceClient(connectionString)
            : new BlobServiceClient(settings.ServiceUri, new DefaultAzureCredential());
        _container = service.GetBlobContainerClient(settings.Container);
    }

    public string Kind => KindName;

    public async Task WriteAsync(string location, Stream content, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        var blob = _container.GetBlobClient(location);
        await blob.UploadAsync(
            content,
            new BlobUploadOptions
            {
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
                TransferOptions = new Azure.Storage.StorageTransferOptions
                {
                    InitialTransferSize = 4 * 1024 * 1024,
                    MaximumTransferSize = 4 * 1024 * 1024,
                    MaximumConcurrency = 1
                },
            },
            cancellationToken);
    }

    public async Task<(Stream Content, long Length)?> OpenReadAsync(string location, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _container.GetBlobClient(location).DownloadStreamingAsync(cancellationToken: cancellationToken);
            return (response.Value.Content, response.Value.Details.ContentLength);
        }
        catch (RequestFailedException exception) when (exception.Status == 404)
        {
            return null;
        }
    }

    public async Task DeleteAsync(string location, CancellationToken cancellationToken) =>
        await _container.GetBlobClient(location).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_exists)
        {
            return;
        }

        await _created.WaitAsync(cancellationToken);
        try
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            _exists = true;
        }
        finally
        {
            _created.Release();
        }
    }
}

/// <summary>Passes a stream through while computing its SHA-256 and counting its bytes.</summary>
public sealed class HashingReadStream(Stream inner) : Stream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private string? _sha256;

    public long BytesRead { get; private set; }

    /// <summary>The hex SHA-256 of everything read; call once the stream has been read to its end.</summary>
    public string Sha256 => _sha256 ??= Convert.ToHexStringLower(_hash.GetHashAndReset());

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Track(buffer.AsSpan(offset, inner.Read(buffer, offset, count)));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        return Track(buffer.Span[..read]);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>Reads a stream to its end and returns its SHA-256 and length.</summary>
    public static async Task<(string Sha256, long Length)> DigestAsync(Stream stream, CancellationToken cancellationToken)
    {
        await using var hashing = new HashingReadStream(stream);
        await hashing.CopyToAsync(Null, 81_920, cancellationToken);
        return (hashing.Sha256, hashing.BytesRead);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Track(ReadOnlySpan<byte> read)
    {
        _hash.AppendData(read);
        BytesRead += read.Length;
        return read.Length;
    }
}
