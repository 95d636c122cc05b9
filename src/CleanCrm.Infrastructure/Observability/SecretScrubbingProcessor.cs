using System.Diagnostics;
using System.Text.RegularExpressions;
using OpenTelemetry;

namespace CleanCrm.Infrastructure.Observability;

/// <summary>
/// Runs before the exporter: SQL spans keep their statement text, except a role's password (provisioning sets one with
/// <c>CREATE/ALTER ROLE ... PASSWORD '...'</c>, which cannot be a parameter), which is replaced.
/// </summary>
public sealed partial class SecretScrubbingProcessor : BaseProcessor<Activity>
{
    private static readonly string[] StatementTags = ["db.query.text", "db.statement"];

    // Npgsql sets the statement when the span starts; scrubbing then (and again at the end, for a tag set later) keeps the
    // literal out of every exporter, whatever their order in the pipeline.
    public override void OnStart(Activity data) => ScrubTags(data);

    public override void OnEnd(Activity data) => ScrubTags(data);

    private static void ScrubTags(Activity data)
    {
        foreach (var tag in StatementTags)
        {
            if (data.GetTagItem(tag) is string text && Password().IsMatch(text))
            {
                data.SetTag(tag, Scrub(text));
            }
        }

        if (Password().IsMatch(data.DisplayName))
        {
            data.DisplayName = Scrub(data.DisplayName);
        }
    }

    /// <summary>The text with every <c>PASSWORD '...'</c> literal replaced.</summary>
    public static string Scrub(string text) => Password().Replace(text, "PASSWORD '[redacted]'");

    [GeneratedRegex(@"PASSWORD\s+'(?:[^']|'')*'", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Password();
}
