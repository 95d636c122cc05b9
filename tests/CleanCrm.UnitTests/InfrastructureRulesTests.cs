using System.Security.Cryptography;
using System.Text;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Tenancy;

namespace CleanCrm.UnitTests;

public sealed class InfrastructureRulesTests
{
    [Fact]
    public void A_scram_verifier_has_postgres_format_and_never_contains_the_password()
    {
        var password = ScramVerifier.NewPassword();
        password.Length.ShouldBe(43);
        password.ShouldNotContain("'");
        var verifier = ScramVerifier.Create(password);
        verifier.ShouldStartWith($"SCRAM-SHA-256${ScramVerifier.Iterations}:");
        verifier.ShouldNotContain(password);
        var parts = verifier.Split('$');
        parts.Length.ShouldBe(3);
        Convert.FromBase64String(parts[1].Split(':')[1]).Length.ShouldBe(16);
        Convert.FromBase64String(parts[2].Split(':')[0]).Length.ShouldBe(32);
        ScramVerifier.Create(password).ShouldNotBe(verifier);
    }

    [Fact]
    public void A_scram_verifier_proves_the_password_the_way_the_server_checks_it()
    {
        var verifier = ScramVerifier.Create("correct horse");
        var (iterations, salt, storedKey) = Parse(verifier);
        StoredKeyFor("correct horse", salt, iterations).ShouldBe(storedKey);
        StoredKeyFor("wrong horse", salt, iterations).ShouldNotBe(storedKey);
    }

    [Fact]
    public void The_plan_table_is_seeded_exactly_as_the_spec_says()
    {
        var plans = typeof(CleanCrm.Infrastructure.DependencyInjection).Assembly
            .GetType("CleanCrm.Infrastructure.Persistence.Catalog.Configurations.PlanCatalog")!
            .GetField("Plans")!.GetValue(null) as Plan[];
        plans.ShouldNotBeNull();
        var free = plans.Single(p => p.Key == Plan.Free);
        (free.Seats, free.AiTokensPerMonth, free.ApiRequestsPer10Seconds, free.BackupRetentionDays).ShouldBe((1, 0L, 100, 7));
        var pro = plans.Single(p => p.Key == Plan.Pro);
        (pro.Seats, pro.AiTokensPerMonth, pro.ApiRequestsPer10Seconds, pro.BackupRetentionDays).ShouldBe((5, 100_000L, 190, 30));
        var enterprise = plans.Single(p => p.Key == Plan.Enterprise);
        (enterprise.Seats, enterprise.AiTokensPerMonth, enterprise.ApiRequestsPer10Seconds, enterprise.BackupRetentionDays)
            .ShouldBe(((int?)null, (long?)null, 250, 365));
    }

    private static (int Iterations, byte[] Salt, string StoredKey) Parse(string verifier)
    {
        var parts = verifier.Split('$');
        var head = parts[1].Split(':');
        return (int.Parse(head[0], System.Globalization.CultureInfo.InvariantCulture), Convert.FromBase64String(head[1]),
            parts[2].Split(':')[0]);
    }

    private static string StoredKeyFor(string password, byte[] salt, int iterations)
    {
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);
        return Convert.ToBase64String(SHA256.HashData(HMACSHA256.HashData(salted, "Client Key"u8)));
    }
}
