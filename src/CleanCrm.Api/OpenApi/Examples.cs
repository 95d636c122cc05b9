using Newtonsoft.Json.Linq;
using NJsonSchema;

namespace CleanCrm.Api.OpenApi;

/// <summary>Request and response examples for the main resources (companies, contacts, deals), set on their schemas.</summary>
internal static class Examples
{
    private const string CompanyId = "0b6f7c1e-5d2a-4c3b-9a8e-1f2d3c4b5a60";
    private const string ContactId = "5e3a9d70-2b1c-4f6e-8a7d-9c0b1a2e3f41";
    private const string OwnerId = "8c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
    private const string PipelineId = "2f4e6a8c-0b1d-4e3f-9a5b-7c9d1e3f5a7b";
    private const string StageId = "6a8c0e2f-4b6d-4f8a-8c0e-2a4c6e8a0c2e";

    private static readonly Dictionary<string, string> BySchema = new()
    {
        ["CompanyFields"] = $$"""
            {"name":"Acme GmbH","domain":"acme.example","industry":"Manufacturing","employeeCount":120,"annualRevenue":1500000000,
             "currency":"EUR","address":"Hauptstraße 1, 10115 Berlin","ownerId":"{{OwnerId}}","customFields":{"tier":"gold"} }
            """,
        ["CompanyDto"] = $$"""
            {"id":"{{CompanyId}}","name":"Acme GmbH","domain":"acme.example","industry":"Manufacturing","employeeCount":120,
             "annualRevenue":1500000000,"currency":"EUR","address":"Hauptstraße 1, 10115 Berlin","ownerId":"{{OwnerId}}",
             "customFields":{"tier":"gold"},"createdAt":"2026-01-15T09:30:00Z","updatedAt":"2026-02-01T14:05:00Z"}
            """,
        ["ContactFields"] = $$"""
            {"firstName":"Ada","lastName":"Lovelace","email":"ada@acme.example","phone":"+49 30 1234567","jobTitle":"CTO",
             "companyId":"{{CompanyId}}","source":"website","ownerId":"{{OwnerId}}","customFields":{} }
            """,
        ["ContactDto"] = $$"""
            {"id":"{{ContactId}}","firstName":"Ada","lastName":"Lovelace","email":"ada@acme.example","phone":"+49 30 1234567",
             "jobTitle":"CTO","companyId":"{{CompanyId}}","source":"website","ownerId":"{{OwnerId}}","customFields":{},
             "createdAt":"2026-01-15T09:31:00Z","updatedAt":"2026-01-15T09:31:00Z"}
            """,
        ["DealFields"] = $$"""
            {"name":"Acme renewal 2026","amount":4800000,"currency":"EUR","pipelineId":"{{PipelineId}}","stageId":"{{StageId}}",
             "probability":40,"expectedCloseDate":"2026-06-30","companyId":"{{CompanyId}}","primaryContactId":"{{ContactId}}",
             "ownerId":"{{OwnerId}}"}
            """,
        ["DealDto"] = $$"""
            {"id":"3d5f7a9b-1c3e-4a5c-8e7a-9b1d3f5a7c9e","name":"Acme renewal 2026","amount":4800000,"currency":"EUR",
             "pipelineId":"{{PipelineId}}","stageId":"{{StageId}}","probability":40,"expectedCloseDate":"2026-06-30",
             "status":"open","closedAt":null,"lostReason":null,"companyId":"{{CompanyId}}","primaryContactId":"{{ContactId}}",
             "ownerId":"{{OwnerId}}","stageEnteredAt":"2026-02-01T10:00:00Z","createdAt":"2026-01-20T08:00:00Z",
             "updatedAt":"2026-02-01T10:00:00Z"}
            """,
    };

    public static void Apply(IDictionary<string, JsonSchema> schemas)
    {
        foreach (var (name, json) in BySchema)
        {
            if (schemas.TryGetValue(name, out var schema))
            {
                schema.Example = JToken.Parse(json);
            }
        }
    }
}
