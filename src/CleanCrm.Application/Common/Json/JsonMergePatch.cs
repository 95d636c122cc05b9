using System.Text.Json;
using System.Text.Json.Nodes;
using CleanCrm.Application.Common.Results;

namespace CleanCrm.Application.Common.Json;

/// <summary>RFC 7396 JSON merge patch applied to a write model: null removes, objects merge, anything else replaces.</summary>
public static class JsonMergePatch
{
    public static Result<T> Apply<T>(T current, JsonElement patch)
        where T : class
    {
        if (patch.ValueKind != JsonValueKind.Object)
        {
            return Error.Validation("body", "A merge patch must be a JSON object.");
        }

        // JsonObject refuses a name twice (an ArgumentException, a 500); the sender meant one of them, so say which.
        if (RepeatedProperty(patch) is { } repeated)
        {
            return Error.Validation(repeated, "appears more than once in the body.");
        }

        var target = JsonSerializer.SerializeToNode(current, ApiJson.Options)!.AsObject();
        Merge(target, JsonObject.Create(patch)!);
        try
        {
            var merged = target.Deserialize<T>(ApiJson.Options);
            return merged is null ? Error.Validation("body", "The merged document is empty.") : merged;
        }
        catch (JsonException exception)
        {
            return Error.Validation(FieldOf(exception), DescribeJsonError(exception));
        }
    }

    public static string FieldOf(JsonException exception) =>
        exception.Path is { Length: > 2 } path ? path.TrimStart('$', '.') : "body";

    public static string DescribeJsonError(JsonException exception) =>
        exception.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0];

    private static string? RepeatedProperty(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            return element.EnumerateArray().Select(RepeatedProperty).FirstOrDefault(name => name is not null);
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                return property.Name;
            }

            if (RepeatedProperty(property.Value) is { } nested)
            {
                return property.Name + "." + nested;
            }
        }

        return null;
    }

    private static void Merge(JsonObject target, JsonObject patch)
    {
        foreach (var (name, value) in patch.ToList())
        {
            if (value is null)
            {
                target.Remove(name);
            }
            else if (value is JsonObject patchObject && target[name] is JsonObject targetObject)
            {
                Merge(targetObject, patchObject);
            }
            else
            {
                target[name] = value.DeepClone();
            }
        }
    }
}
