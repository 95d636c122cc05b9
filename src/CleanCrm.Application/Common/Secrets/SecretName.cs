using System.Text.RegularExpressions;

namespace CleanCrm.Application.Common.Secrets;

/// <summary>Validates secret names against the rules every store accepts (Key Vault's are the strictest).</summary>
public static partial class SecretName
{
    [GeneratedRegex("^[a-zA-Z0-9-]{1,127}$")]
    private static partial Regex Pattern();

    public static string Ensure(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Pattern().IsMatch(name))
        {
            throw new ArgumentException($"Secret name '{name}' is invalid: use 1-127 letters, digits or dashes.", nameof(name));
        }

        return name;
    }

    public static string ForTenantDatabase(Guid organizationId) => $"tenant-db-{organizationId:N}";

    /// <summary>The login password of a warm-pool database's role until a signup claims it (then it moves to the org's name).</summary>
    public static string ForWarmPoolDatabase(Guid poolEntryId) => $"warm-pool-db-{poolEntryId:N}";

    public static string ForDatabaseServer(Guid databaseServerId) => $"dbserver-admin-{databaseServerId:N}";
}
