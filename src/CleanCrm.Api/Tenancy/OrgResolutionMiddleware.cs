using CleanCrm.Api.Infrastructure;
using CleanCrm.Api.Security;
using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Catalog;
using CleanCrm.Infrastructure.Tenancy;

namespace CleanCrm.Api.Tenancy;

/// <summary>Endpoint metadata: this endpoint works on one organization's data.</summary>
public sealed class OrgScopedEndpointAttribute : Attribute;

/// <summary>
/// Endpoint metadata: this org-scoped endpoint stays open while the org is suspended (billing, so a suspended org can pay).
/// </summary>
public sealed class AllowSuspendedOrgAttribute : Attribute;

public static class OrgScopedEndpointExtensions
{
    public static TBuilder RequireOrg<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new OrgScopedEndpointAttribute());

    public static TBuilder AllowSuspendedOrg<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(new AllowSuspendedOrgAttribute());
}

/// <summary>
/// Resolves the organization of an org-scoped request exactly as docs/API.md ("Organizations: X-Org") says and opens its tenant scope for
/// the
/// rest of the request: org-bound client claim first, then X-Org (slug or id) with a membership check.
/// </summary>
public sealed class OrgResolutionMiddleware(RequestDelegate next)
{
    public const string HeaderName = "X-Org";

    public async Task InvokeAsync(HttpContext context, TenantDirectory directory, TenantScopeFactory scopes, HttpCallerContext caller,
        Serilog.IDiagnosticContext diagnostics)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<OrgScopedEndpointAttribute>() is null || caller.UserId is not { } userId)
        {
            await next(context);
            return;
        }

        var header = context.Request.Headers[HeaderName].ToString().Trim();
        TenantLocation? location;
        if (caller.OrgClaim is { } claimedOrg)
        {
            location = await directory.FindAsync(claimedOrg, context.RequestAborted);
            if (header.Length > 0 && location is not null && !Names(location, header))
            {
                await Problems.Result(Error.Forbidden(ErrorCodes.OrgMismatch,
                    $"This client is bound to another organization than '{header}'.")).ExecuteAsync(context);
                return;
            }

            caller.Role = ParseRole(context.User.FindFirst(CleanCrmClaims.OrganizationRole)?.Value);
            if (caller.Role is null)
            {
                // A bound token must say what it may do; guessing a role would grant more than was issued.
                await Problems.Result(Error.Forbidden(ErrorCodes.Forbidden, "This client's token carries no valid org_role claim."))
                    .ExecuteAsync(context);
                return;
            }
        }
        else
        {
            if (header.Length == 0)
            {
                await Problems.Result(new Error(ErrorType.BadRequest, ErrorCodes.OrgRequired,
                    "This endpoint works on one organization: send the X-Org header with its slug or id.")).ExecuteAsync(context);
                return;
            }

            location = Guid.TryParse(header, out var id)
                ? await directory.FindAsync(id, context.RequestAborted)
                : header.Length <= 40 ? await directory.FindBySlugAsync(header, context.RequestAborted) : null;
            caller.Role = location is null ? null : await directory.FindRoleAsync(location.OrganizationId, userId, context.RequestAborted);
            if (caller.Role is null)
            {
                location = null;
            }
        }

        if (location is null || location.Status is OrganizationStatus.Deleting or OrganizationStatus.Deleted)
        {
            // Unknown and not-a-member look the same, so the existence of an org is not leaked.
            await Problems.Result(new Error(ErrorType.NotFound, ErrorCodes.NotFound,
                $"Organization '{(header.Length > 0 ? header : caller.OrgClaim)}' was not found.")).ExecuteAsync(context);
            return;
        }

        if (location.Status == OrganizationStatus.Suspended && context.GetEndpoint()
            ?.Metadata.GetMetadata<AllowSuspendedOrgAttribute>() is null)
        {
            await Problems.Result(Error.Forbidden(ErrorCodes.OrgSuspended,
                $"Organization '{location.Slug}' is suspended; contact support or your billing owner.")).ExecuteAsync(context);
            return;
        }

        if (location.Status is not (OrganizationStatus.Active or OrganizationStatus.Suspended))
        {
            var error = new Error(ErrorType.NotReady, ErrorCodes.OrgNotReady,
                $"Organization '{location.Slug}' is {location.Status.ToString().ToLowerInvariant()}; retry shortly.");
            await Problems.Result(error, http => http.Response.Headers.RetryAfter = "2").ExecuteAsync(context);
            return;
        }

        await using var scope = await scopes.BeginAsync(location, context.RequestAborted);
        diagnostics.Set("OrgId", location.OrganizationId);
        System.Diagnostics.Activity.Current?.SetTag("cleancrm.org_id", location.OrganizationId);
        using (Serilog.Context.LogContext.PushProperty("OrgId", location.OrganizationId))
        {
            await next(context);
        }
    }

    private static bool Names(TenantLocation location, string header) =>
        Guid.TryParse(header, out var id) ? id == location.OrganizationId : string.Equals(header, location.Slug, StringComparison.Ordinal);

    private static OrgRole? ParseRole(string? value) =>
        value is not null
            && Enum.TryParse<OrgRole>(value.Replace("_", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var role)
            ? role
            : null;
}
