using CleanCrm.Application.Integrations;
using Microsoft.Extensions.Options;

namespace CleanCrm.Infrastructure.Integrations;

/// <summary>The platform defaults of <see cref="IntegrationOptions"/> that organizations can override (docs/INTEGRATIONS.md).</summary>
internal sealed class IntegrationDefaults(IOptions<IntegrationOptions> options) : IIntegrationDefaults
{
    public bool FathomCreatesContacts => options.Value.Fathom.CreateContacts;
}
