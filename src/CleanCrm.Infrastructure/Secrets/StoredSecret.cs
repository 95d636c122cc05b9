namespace CleanCrm.Infrastructure.Secrets;

/// <summary>A secret of the local store: the value is Data Protection ciphertext, never plain text.</summary>
public sealed class StoredSecret
{
    public required string Name { get; set; }

    public required string ProtectedValue { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
