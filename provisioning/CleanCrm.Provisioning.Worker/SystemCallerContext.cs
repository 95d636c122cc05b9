using CleanCrm.Application.Common.Security;
using CleanCrm.Domain.Catalog;

namespace CleanCrm.Provisioning.Worker;

/// <summary>Jobs and CLI verbs act as the system: they carry the org id explicitly and pass permission checks.</summary>
public sealed class SystemCallerContext : ICallerContext
{
    public Guid? UserId => null;

    public OrgRole? Role => null;

    public bool IsPlatformAdmin => false;

    public bool IsSystem => true;
}
