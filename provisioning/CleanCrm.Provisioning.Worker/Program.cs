using CleanCrm.Provisioning.Worker.Commands;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker;

/// <summary>
/// The worker host and operator CLI: <c>serve</c>, <c>migrate</c>, <c>provision</c>, <c>suspend</c>, <c>resume</c>, <c>tenants list</c>.
/// </summary>
public static class WorkerProgram
{
    public static async Task<int> Main(string[] args)
    {
        // Ctrl+C stops a long command (a fleet migration) cleanly instead of killing it mid-database.
        using var cancellation = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancellation.Cancel();
        };
        return await CreateApp().RunAsync(args, cancellation.Token);
    }

    public static CommandApp CreateApp()
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("cleancrm-worker");
            config.AddCommand<ServeCommand>("serve").WithDescription("Run the provisioning/maintenance job server (Hangfire).");
            config.AddCommand<MigrateCommand>("migrate")
                .WithDescription("Migrate the catalog, the template database of every server, and every tenant database that is behind.");
            config.AddCommand<ProvisionCommand>("provision").WithDescription("Provision (or resume provisioning of) one organization now.")
                .WithExample("provision", "acme");
            config.AddCommand<SuspendCommand>("suspend").WithDescription("Suspend an active organization (its members are refused).")
                .WithExample("suspend", "acme");
            config.AddCommand<ResumeCommand>("resume").WithDescription("Resume a suspended organization.").WithExample("resume", "acme");
            config.AddCommand<RestoreDrillCommand>("restore-drill")
                .WithDescription("Restore a sample of recent backups into scratch databases, verify every table, drop them, report.")
                .WithExample("restore-drill", "--sample", "10");
            config.AddCommand<RotateSigningKeyCommand>("rotate-signing-key")
                .WithDescription("Add a token-signing key: published in JWKS now, signing new tokens after --activate-in minutes.")
                .WithExample("rotate-signing-key", "--activate-in", "10");
            config.AddCommand<RetireSigningKeyCommand>("retire-signing-key")
                .WithDescription("Stop publishing and trusting a token-signing key once the tokens it signed have expired.")
                .WithExample("retire-signing-key", "Xh3k9Q2mZ0aB7cDe");
            config.AddCommand<SigningKeysListCommand>("signing-keys")
                .WithDescription("List the rotated token-signing keys and their state.");
            config.AddCommand<WarmPoolCommand>("warm-pool")
                .WithDescription("Show each server's warm pool of ready tenant databases; --refill tops it up now.")
                .WithExample("warm-pool", "--refill");
            config.AddBranch("tenants", tenants =>
            {
                tenants.SetDescription("Inspect tenant organizations.");
                tenants.AddCommand<TenantsListCommand>("list").WithDescription("List organizations and where their databases live.");
                tenants.AddCommand<RefreshVerifiersCommand>("refresh-verifiers")
                    .WithDescription("Rewrite every tenant role's SCRAM verifier with the current (cheaper) iteration count.");
            });
        });
        return app;
    }
}
