using CleanCrm.Application.Common.Persistence;
using CleanCrm.Application.Common.Results;
using CleanCrm.Application.Common.Secrets;
using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;
using FluentValidation;
using Mediator;
using Microsoft.EntityFrameworkCore;

namespace CleanCrm.Application.DatabaseServers.Commands.RegisterDatabaseServer;

/// <summary>
/// Registers a PostgreSQL server for tenant databases once a connection with the given admin credentials succeeded; the
/// password goes to the secret store only (docs/OPERATIONS.md, "Database servers").
/// </summary>
[RequiresPlatformAdmin]
public sealed record RegisterDatabaseServer(string Name, string Host, int Port, string AdminUsername, string Password, int Capacity)
    : ICommand<Result<DatabaseServerDto>>
{
    // The password never appears in logs or the request's text form.
    public override string ToString() =>
        $"RegisterDatabaseServer {{ Name = {Name}, Host = {Host}, Port = {Port}, AdminUsername = {AdminUsername}, Capacity = {Capacity} }}";
}

public sealed class RegisterDatabaseServerValidator : AbstractValidator<RegisterDatabaseServer>
{
    public RegisterDatabaseServerValidator()
    {
        RuleFor(x => x.Name).NotEmpty().WithMessage("is required.")
            .MaximumLength(100).WithMessage("must be at most 100 characters.")
            .Matches("^[a-z0-9][a-z0-9-]*$").WithMessage("must be lowercase letters, digits and dashes.");
        RuleFor(x => x.Host).NotEmpty().WithMessage("is required.")
            .MaximumLength(255).WithMessage("must be at most 255 characters.")
            .Matches(@"^[A-Za-z0-9.\-:\[\]]+$").WithMessage("must be a host name or an IP address.");
        RuleFor(x => x.Port).InclusiveBetween(1, 65535).WithMessage("must be between 1 and 65535.");
        RuleFor(x => x.AdminUsername).NotEmpty().WithMessage("is required.")
            .MaximumLength(63).WithMessage("must be at most 63 characters.")
            .Must(NotContainNul).WithMessage("must not contain a NUL character (\\u0000).");
        RuleFor(x => x.Password).NotEmpty().WithMessage("is required.")
            .MaximumLength(1000).WithMessage("must be at most 1000 characters.")
            .Must(NotContainNul).WithMessage("must not contain a NUL character (\\u0000).");
        RuleFor(x => x.Capacity).InclusiveBetween(1, 100_000).WithMessage("must be between 1 and 100000.");
    }

    // A connection string cannot carry a NUL (Npgsql throws while building it for the probe).
    private static bool NotContainNul(string? value) => value is null || !value.Contains('\0', StringComparison.Ordinal);
}

public sealed class RegisterDatabaseServerHandler(
    ICatalogDbContext db, IDatabaseServerProbe probe, ISecretStore secrets, TimeProvider clock)
    : ICommandHandler<RegisterDatabaseServer, Result<DatabaseServerDto>>
{
    public async ValueTask<Result<DatabaseServerDto>> Handle(RegisterDatabaseServer command, CancellationToken cancellationToken)
    {
        if (await db.DatabaseServers.AnyAsync(s => s.Name == command.Name, cancellationToken))
        {
            return new Error(
                ErrorType.Conflict, ErrorCodes.DuplicateValue, $"A database server named '{command.Name}' is already registered.")
            {
                Errors = new Dictionary<string, string[]> { ["name"] = ["is already taken."] },
            };
        }

        if (await db.DatabaseServers.AnyAsync(s => s.Host == command.Host && s.Port == command.Port, cancellationToken))
        {
            return new Error(
                ErrorType.Conflict,
                ErrorCodes.DuplicateValue,
                $"The server {command.Host}:{command.Port} is already registered.")
            {
                Errors = new Dictionary<string, string[]> { ["host"] = ["is already registered with this port."] },
            };
        }

        if (await probe.TestAsync(command.Host, command.Port, command.AdminUsername, command.Password, cancellationToken) is { } reason)
        {
            return new Error(
                ErrorType.Unprocessable,
                ErrorCodes.DatabaseServerUnreachable,
                $"Could not connect to {command.Host}:{command.Port} as '{command.AdminUsername}': {reason}");
        }

        var now = clock.GetUtcNow();
        var server = new DatabaseServer
        {
            Name = command.Name,
            Host = command.Host,
            Port = command.Port,
            AdminUsername = command.AdminUsername,
            AdminSecretName = string.Empty,
            Capacity = command.Capacity,
            Status = DatabaseServerStatus.Active,
            CreatedAt = now,
            UpdatedAt = now,
        };
        server.AdminSecretName = SecretName.ForDatabaseServer(server.Id);

        // Secret first: a server row whose secret is missing would fail every placement on it.
        await secrets.SetAsync(server.AdminSecretName, command.Password, cancellationToken);
        db.DatabaseServers.Add(server);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            await secrets.DeleteAsync(server.AdminSecretName, CancellationToken.None);
            throw;
        }

        return new DatabaseServerDto(server.Id, server.Name, server.Host, server.Port, server.AdminUsername, server.Capacity, 0,
            DatabaseServerDto.StatusName(server.Status), server.CreatedAt);
    }
}
