using System.Text.Json;
using CleanCrm.Api.Infrastructure;
using CleanCrm.Application.Common.Persistence;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace CleanCrm.IntegrationTests.Api;

/// <summary>
/// A write race that escapes a handler (two writers, one unique index or one row version) is a 409 the client can retry,
/// never a 500: docs/API.md "Errors".
/// </summary>
public sealed class WriteRaceProblemTests
{
    public static TheoryData<string> RaceStates => new() { "23505", "23P01", "40001", "40P01" };

    [Fact]
    public async Task An_optimistic_concurrency_conflict_that_a_handler_let_escape_is_a_409_conflict()
    {
        var (status, code) = await HandleAsync(new ConcurrencyConflictException(new DbUpdateConcurrencyException("stale")));

        status.ShouldBe(409);
        code.ShouldBe("conflict");
    }

    [Theory]
    [MemberData(nameof(RaceStates))]
    public async Task A_unique_violation_or_serialization_failure_wrapped_by_ef_is_a_409_conflict(string sqlState)
    {
        var postgres = new PostgresException("duplicate key value", "ERROR", "ERROR", sqlState);

        var (status, code) = await HandleAsync(new DbUpdateException("save failed", postgres));

        status.ShouldBe(409);
        code.ShouldBe("conflict");
    }

    [Theory]
    [InlineData("57P01")]
    [InlineData("57P03")]
    [InlineData("08006")]
    public async Task A_database_server_shutting_down_or_starting_is_a_503_with_retry_after(string sqlState)
    {
        // Found by the fault suite (tests/faults, scenario 3: a tenant server restarted under load answered 500).
        var postgres = new PostgresException("terminating connection due to administrator command", "FATAL", "FATAL", sqlState);

        var (status, code, retryAfter) = await HandleWithHeadersAsync(
            new InvalidOperationException("An exception has been raised that is likely due to a transient failure.", postgres));

        status.ShouldBe(503);
        code.ShouldBe("database_unavailable");
        retryAfter.ShouldBe("2");
    }

    [Fact]
    public async Task A_database_server_that_refuses_connections_is_a_503_with_retry_after()
    {
        var refused = new NpgsqlException("Failed to connect to 127.0.0.1:5432",
            new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused));

        var (status, code, retryAfter) = await HandleWithHeadersAsync(new InvalidOperationException("transient", refused));

        status.ShouldBe(503);
        code.ShouldBe("database_unavailable");
        retryAfter.ShouldBe("2");
    }

    [Fact]
    public async Task A_nul_character_postgresql_cannot_store_is_a_400()
    {
        var postgres = new PostgresException("invalid byte sequence for encoding \"UTF8\": 0x00", "ERROR", "ERROR", "22021");

        var (status, code) = await HandleAsync(new DbUpdateException("save failed", postgres));

        status.ShouldBe(400);
        code.ShouldBe("bad_request");
    }

    [Fact]
    public async Task Any_other_database_error_stays_a_500_without_internals()
    {
        var postgres = new PostgresException("relation does not exist", "ERROR", "ERROR", "42P01");

        var (status, code) = await HandleAsync(new DbUpdateException("save failed", postgres));

        status.ShouldBe(500);
        code.ShouldBe("internal_error");
    }

    private static async Task<(int Status, string? Code)> HandleAsync(Exception exception)
    {
        var (status, code, _) = await HandleWithHeadersAsync(exception);
        return (status, code);
    }

    private static async Task<(int Status, string? Code, string? RetryAfter)> HandleWithHeadersAsync(Exception exception)
    {
        var services = new ServiceCollection().AddLogging().AddCleanCrmProblemDetails().BuildServiceProvider();
        var handler = new ExceptionToProblemHandler(
            services.GetRequiredService<IProblemDetailsService>(), NullLogger<ExceptionToProblemHandler>.Instance);
        var body = new MemoryStream();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Request.Method = "PATCH";
        context.Request.Path = "/api/v1/companies/1";
        context.Request.Headers.Accept = "application/json";
        context.Response.Body = body;

        (await handler.TryHandleAsync(context, exception, CancellationToken.None)).ShouldBeTrue();

        using var document = JsonDocument.Parse(body.ToArray());
        return (context.Response.StatusCode, document.RootElement.GetProperty("code").GetString(),
            context.Response.Headers.RetryAfter.ToString() is { Length: > 0 } retryAfter ? retryAfter : null);
    }
}
