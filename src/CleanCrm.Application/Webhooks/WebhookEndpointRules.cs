using CleanCrm.Application.Common.Results;
using CleanCrm.Domain.Tenant;
using FluentValidation;

namespace CleanCrm.Application.Webhooks;

/// <summary>What a valid endpoint looks like; the SSRF check on the target runs after these (it may resolve DNS).</summary>
public sealed class WebhookEndpointFieldsValidator : AbstractValidator<WebhookEndpointFields>
{
    public const int MaxUrlLength = 2000;

    public WebhookEndpointFieldsValidator()
    {
        RuleFor(x => x.Url).Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("is required.")
            .MaximumLength(MaxUrlLength).WithMessage($"must be at most {MaxUrlLength} characters.")
            .Must(BeAnHttpUrl).WithMessage(x => $"'{x.Url}' is not an absolute http or https URL without user information.")
            .OverridePropertyName("url");
        RuleFor(x => x.Events).Cascade(CascadeMode.Stop)
            .NotEmpty().WithMessage("must name at least one event.")
            .Must(events => events!.Count <= DomainEventTypes.All.Count * 2).WithMessage("has too many entries.")
            .OverridePropertyName("events");
        RuleForEach(x => x.Events)
            .Must(name => name is not null && DomainEventTypes.All.Contains(name))
            .WithMessage((_, name) => $"'{name}' is not an event; known events: {string.Join(", ", DomainEventTypes.All)}.")
            .OverridePropertyName("events");
    }

    public static bool BeAnHttpUrl(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && string.IsNullOrEmpty(uri.UserInfo)
        && !string.IsNullOrEmpty(uri.Host);
}

internal static class WebhookTargets
{
    /// <summary>A 400 naming the URL when the platform may not call it (private, loopback or link-local target).</summary>
    public static async Task<Error?> CheckAsync(IOutboundTargets targets, string url, CancellationToken cancellationToken) =>
        await targets.RefusalAsync(new Uri(url), cancellationToken) is { } refusal ? Error.Validation("url", refusal) : null;

    public static List<string> Normalize(IEnumerable<string> events) =>
        [.. events.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}
