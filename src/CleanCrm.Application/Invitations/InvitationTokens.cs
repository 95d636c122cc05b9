using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace CleanCrm.Application.Invitations;

public static class InvitationTokens
{
    /// <summary>A 256-bit URL-safe random token.</summary>
    public static string NewToken() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
