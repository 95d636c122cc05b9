namespace CleanCrm.Benchmarks;

/// <summary>
/// Benchmark tooling. Verbs:
/// <c>seed-tenants --catalog &lt;connstr&gt; --count N --contacts-per-tenant M [--parallelism 4] [--out file]</c>;
/// <c>import-contacts --catalog &lt;connstr&gt; [--rows 100000] [--runs 3] [--paths both|copy|ef] [--slug-prefix bench-import-]</c>.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Usage();
            return args.Length == 0 ? 2 : 0;
        }

        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };

        try
        {
            var options = CommandLine.Parse(args.AsSpan(1));
            return args[0] switch
            {
                "seed-tenants" => await SeedTenantsCommand.RunAsync(SeedTenantsOptions.From(options), cancellation.Token),
                "serve-api" => await ServeApiCommand.RunAsync(ServeApiOptions.From(options), cancellation.Token),
                "import-contacts" => await ImportContactsCommand.RunAsync(ImportContactsOptions.From(options), cancellation.Token),
                "session-cost" => await SessionCostCommand.RunAsync(SessionCostOptions.From(options), cancellation.Token),
                _ => Fail($"unknown verb '{args[0]}'"),
            };
        }
        catch (ArgumentException exception)
        {
            return Fail(exception.Message);
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        Usage();
        return 2;
    }

    private static void Usage() => Console.Error.WriteLine(
        """
        usage: CleanCrm.Benchmarks seed-tenants --catalog <connection string> --count <N> --contacts-per-tenant <M>
                                                [--parallelism 4] [--out bench-tenants.txt] [--slug-prefix bench-] [--password <pw>]
               CleanCrm.Benchmarks serve-api --port <P>

          Against an already migrated catalog (worker `migrate`), creates one owner user with a fixed id, N organizations
          <prefix>0001..., provisions each with TenantOnboarding.ProvisionAsync (clone from the template) and inserts M
          companies and M contacts into each tenant database. Idempotent: active organizations are not provisioned again
          and tenant data is only inserted where missing. Prints USER_ID=... and SLUGS_FILE=... on stdout, timings on stderr.
          Other settings come from the environment (e.g. CleanCrm__Tenancy__TemplateDatabase). M deals are seeded too.
          With --password (or BENCH_PASSWORD) the owner can sign in with the password grant.

          serve-api hosts the real API on Kestrel plus GET /bench/bare/deals/{id} (X-Org), the same SQL with raw Npgsql and
          nothing else, for the read-path overhead benchmark; the API reads its settings from the environment as usual.

        CleanCrm.Benchmarks session-cost --catalog <connection string> [--slug bench-0001] [--opens 200] [--data-sources 200]
                                         [--postmaster-pid <pid>]

          The cost of a new tenant session by ingredient: SCRAM iterations (4096 vs the current count, set on the role and
          put back), SslMode Prefer vs Disable, a new data source with and without type loading (and its managed heap),
          the catalog directory and secret lookups. Wall and CPU per operation.

        CleanCrm.Benchmarks import-contacts --catalog <connection string> [--rows 100000] [--runs 3]
            [--paths both|copy|ef] [--slug-prefix bench-import-]

          Provisions one organization <prefix>0001 if needed, writes a deterministic contacts CSV (10 columns), and imports
          it from empty tables, alternating the product path (upload store + COPY importer) and EF SaveChanges, --runs
          times each. Prints wall times, peak working set and managed heap per run, medians and the speed-up.
        """);
}

/// <summary>Parses <c>--name value</c> pairs.</summary>
internal static class CommandLine
{
    public static Dictionary<string, string> Parse(ReadOnlySpan<string> args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || name.Length < 3)
            {
                throw new ArgumentException($"expected an option, got '{name}'");
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"option {name} needs a value");
            }

            values[name[2..]] = args[++i];
        }

        return values;
    }
}
