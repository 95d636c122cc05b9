using System.Globalization;
using Microsoft.Extensions.Options;

namespace CleanCrm.Console.Presentation;

/// <summary>The API instance's tenant connection budget, read from its Prometheus <c>/metrics</c> (docs/OPERATIONS.md).</summary>
public sealed record ConnectionBudget(double? InUse, double? Reserved, double? OpenDataSources, double? Refusals, string? Error);

public sealed class ApiMetrics(IHttpClientFactory clients, IOptions<ConsoleOptions> options)
{
    public const string ClientName = "api-metrics";

    public async Task<ConnectionBudget> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var client = clients.CreateClient(ClientName);
            client.Timeout = TimeSpan.FromSeconds(3);
            var text = await client.GetStringAsync(new Uri(options.Value.ApiBaseUrl!, "metrics"), cancellationToken);
            return Parse(text);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return new ConnectionBudget(null, null, null, null, $"The API's /metrics could not be read: {ex.Message}");
        }
    }

    /// <summary>Sums each series over its labels (one API instance answers; several would each be read separately).</summary>
    public static ConnectionBudget Parse(string text)
    {
        double? Sum(string name)
        {
            double? total = null;
            foreach (var line in text.Split('\n'))
            {
                if (line.StartsWith('#') || !line.StartsWith(name, StringComparison.Ordinal))
                {
                    continue;
                }

                var rest = line[name.Length..];
                if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '{'))
                {
                    continue; // a longer metric name that starts with this one
                }

                var value = rest[(rest.LastIndexOf('}') + 1)..].Trim().Split(' ')[0];
                if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
                {
                    total = (total ?? 0) + number;
                }
            }

            return total;
        }

        return new ConnectionBudget(
            Sum("cleancrm_tenant_connections_in_use"),
            Sum("cleancrm_tenant_connections_reserved"),
            Sum("cleancrm_tenant_data_sources_open"),
            Sum("cleancrm_tenant_connections_refusals_total"),
            null);
    }
}
