using System.Reflection;
using CleanCrm.Application.Common.Features;
using CleanCrm.Application.Common.Security;
using CleanCrm.Application.Common.Tenancy;

namespace CleanCrm.Application.Common.Behaviors;

/// <summary>What a request type declares, read by reflection once per type and cached in a static generic.</summary>
public static class RequestMetadata<TMessage>
{
    public static readonly string Name = typeof(TMessage).Name;

    public static readonly bool IsOrgScoped = typeof(IOrgScopedRequest).IsAssignableFrom(typeof(TMessage));

    public static readonly Permission? Permission = typeof(TMessage).GetCustomAttribute<RequiresPermissionAttribute>()?.Permission;

    public static readonly bool RequiresPlatformAdmin = typeof(TMessage).GetCustomAttribute<RequiresPlatformAdminAttribute>() is not null;

    public static readonly bool RequiresSignedInUser = typeof(TMessage).GetCustomAttribute<RequiresSignedInUserAttribute>() is not null;

    public static readonly string? Feature = typeof(TMessage).GetCustomAttribute<RequiresFeatureAttribute>()?.FeatureKey;

    public static readonly bool AllowsAnonymous = typeof(TMessage).GetCustomAttribute<AllowAnonymousRequestAttribute>() is not null;
}
