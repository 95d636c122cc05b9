using CleanCrm.Application.Common.Provisioning;
using CleanCrm.Domain.Catalog;
using Microsoft.AspNetCore.Identity;

namespace CleanCrm.Infrastructure.Provisioning;

/// <summary>ASP.NET Core Identity's password hasher (PBKDF2-HMAC-SHA512, 100k iterations, V3 format).</summary>
public sealed class PasswordHashing : IPasswordHashing
{
    private readonly PasswordHasher<UserAccount> _hasher = new();
    private static readonly UserAccount Anyone = new() { Email = string.Empty, NormalizedEmail = string.Empty, Name = string.Empty };

    public string Hash(string password) => _hasher.HashPassword(Anyone, password);

    public bool Verify(string hash, string password) =>
        _hasher.VerifyHashedPassword(Anyone, hash, password) is PasswordVerificationResult.Success
            or PasswordVerificationResult.SuccessRehashNeeded;
}
