namespace CleanCrm.Application.Companies;

/// <summary>
/// Queues the enrichment of a company's domain (its logo and site metadata, docs/INTEGRATIONS.md "Company enrichment"),
/// called once the company's write has committed. Queuing never fails the write: a failure is logged and the company stays
/// without a logo until its domain is saved again.
/// </summary>
public interface ICompanyEnrichmentQueue
{
    void Enqueue(Guid organizationId, Guid companyId, string domain);
}
