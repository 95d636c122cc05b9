using System.ComponentModel;
using CleanCrm.Infrastructure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace CleanCrm.Provisioning.Worker.Commands;

/// <summary>
/// Adds a token-signing key: published in JWKS at once, signing new tokens after <c>--activate-in</c> minutes
/// (docs/OPERATIONS.md, "Rotating the token-signing key").
/// </summary>
public sealed class RotateSigningKeyCommand : AsyncCommand<RotateSigningKeyCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--activate-in <MINUTES>")]
        [Description("Minutes until the new key signs tokens (default 10): longer than the API's key refresh interval and clients' "
            + "JWKS caching, so everyone knows the key before tokens signed with it appear.")]
        [DefaultValue(10)]
        public int ActivateInMinutes { get; init; } = 10;

        public override ValidationResult Validate() =>
            ActivateInMinutes is < 0 or > 10_080
                ? ValidationResult.Error("--activate-in is 0 to 10080 minutes.")
                : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder([], runJobServer: false).Build();
        var key = await host.Services.GetRequiredService<SigningKeyStore>()
            .RotateAsync(TimeSpan.FromMinutes(settings.ActivateInMinutes), cancellationToken);
        AnsiConsole.MarkupLineInterpolated($"New signing key [bold]{key.Id}[/]: published now, signs new tokens from {key.ActivatesAt:u}.");
        AnsiConsole.MarkupLine("Retire the previous key (retire-signing-key) once the tokens it signed have expired.");
        return 0;
    }
}

/// <summary>Stops publishing and trusting a token-signing key (refused while it signs or its access tokens may live).</summary>
public sealed class RetireSigningKeyCommand : AsyncCommand<RetireSigningKeyCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<KID>")]
        [Description("The key id (kid) as listed by signing-keys or published in /.well-known/jwks.")]
        public string KeyId { get; init; } = string.Empty;

        [CommandOption("--force")]
        [Description("Retire even though access tokens it signed may still be valid (a compromised key): their holders are refused.")]
        public bool Force { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder([], runJobServer: false).Build();
        var lifetime = TimeSpan.FromMinutes(host.Services.GetRequiredService<IConfiguration>()
            .GetValue("CleanCrm:Identity:AccessTokenLifetimeMinutes", 15));
        var outcome = await host.Services.GetRequiredService<SigningKeyStore>()
            .RetireAsync(settings.KeyId, lifetime, settings.Force, cancellationToken);
        if (outcome.Succeeded)
        {
            AnsiConsole.MarkupLineInterpolated($"{outcome.Message}");
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{outcome.Message}[/]");
        }
        return outcome.Succeeded ? 0 : 1;
    }
}

/// <summary>Lists the rotated token-signing keys (the configured key is the first key and is listed only once retired).</summary>
public sealed class SigningKeysListCommand : AsyncCommand
{
    public override async Task<int> ExecuteAsync(CommandContext context, CancellationToken cancellationToken)
    {
        using var host = WorkerHost.CreateBuilder([], runJobServer: false).Build();
        var keys = await host.Services.GetRequiredService<SigningKeyStore>().LoadAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        var signer = keys.Where(k => k.RetiredAt is null && k.PrivateKeyPem is not null && k.ActivatesAt <= now).MaxBy(k => k.ActivatesAt);
        var table = new Table().AddColumns("kid", "state", "created", "activates", "retired");
        foreach (var key in keys)
        {
            var state = key.RetiredAt is not null ? "retired"
                : ReferenceEquals(key, signer) ? "signing"
                : key.ActivatesAt > now ? "next (published)"
                : "previous (trusted)";
            table.AddRow(key.Id, state, key.CreatedAt.ToString("u"), key.ActivatesAt.ToString("u"), key.RetiredAt?.ToString("u") ?? "-");
        }

        AnsiConsole.Write(table);
        if (signer is null)
        {
            AnsiConsole.MarkupLine("The configured key (CleanCrm:Identity:SigningKey) signs the tokens issued now.");
        }

        return 0;
    }
}
