using CleanCrm.Domain.Catalog;

namespace CleanCrm.Application.Common.Security;

/// <summary>Who is calling: resolved once per request (or set by a job) so handlers never look the user up again.</summary>
public interface ICallerContext
{
    Guid? UserId { get; }

    /// <summary>The caller's role in the organization in scope; <c>null</c> when not a member or no org is in scope.</summary>
    OrgRole? Role { get; }

    bool IsPlatformAdmin { get; }

    /// <summary>Background jobs and CLI work act as the system, which passes every permission check.</summary>
    bool IsSystem { get; }
}
