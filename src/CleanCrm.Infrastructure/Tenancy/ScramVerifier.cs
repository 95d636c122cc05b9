using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace CleanCrm.Infrastructure.Tenancy;

/// <summary>
/// Computes a PostgreSQL SCRAM-SHA-256 verifier on the client, so CREATE/ALTER ROLE never carries the plain password
/// (which the server could otherwise write to its log).
/// </summary>
public static class ScramVerifier
{
    /// <summary>
    /// PBKDF2 iterations stored in the verifier. The password is 256 random bits, so stretching adds nothing against a
    /// stolen verifier, while every new session pays the iterations on the client (ADR 0016).
    /// </summary>
    public const int Iterations = 16;

    public static string Create(string password) => Create(password, Iterations);

    /// <summary>A verifier with another iteration count (benchmarks compare the per-session cost).</summary>
    public static string Create(string password, int iterations)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        var storedKey = SHA256.HashData(clientKey);
        var serverKey = HMACSHA256.HashData(salted, "Server Key"u8);
        return $"SCRAM-SHA-256${iterations}:{Convert.ToBase64String(salt)}" +
            $"${Convert.ToBase64String(storedKey)}:{Convert.ToBase64String(serverKey)}";
    }

    /// <summary>A 256-bit random password, URL-safe, with no characters that need quoting.</summary>
    public static string NewPassword() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
}
