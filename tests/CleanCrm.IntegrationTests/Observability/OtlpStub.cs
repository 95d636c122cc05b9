using System.Collections.Concurrent;
using System.IO.Compression;
using Google.Protobuf;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace CleanCrm.IntegrationTests.Observability;

/// <summary>
/// An in-process OTLP/HTTP receiver (protobuf): a WireMock server that answers 200 to <c>/v1/traces</c>, <c>/v1/logs</c> and
/// <c>/v1/metrics</c> and decodes the spans and log records it receives with a small reader of the OTLP wire format.
/// </summary>
internal sealed class OtlpStub : IDisposable
{
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly ConcurrentQueue<ReceivedLog> _logs = new();

    public OtlpStub()
    {
        Server = WireMockServer.Start();
        Server.Given(Request.Create().UsingPost().WithPath("/v1/traces")).RespondWith(Response.Create().WithCallback(request =>
        {
            Decode(request.BodyAsBytes, DecodeTraces);
            return new WireMock.ResponseMessage { StatusCode = 200 };
        }));
        Server.Given(Request.Create().UsingPost().WithPath("/v1/logs")).RespondWith(Response.Create().WithCallback(request =>
        {
            Decode(request.BodyAsBytes, DecodeLogs);
            return new WireMock.ResponseMessage { StatusCode = 200 };
        }));
        Server.Given(Request.Create().UsingPost().WithPath("/v1/metrics")).RespondWith(Response.Create().WithStatusCode(200));
    }

    public WireMockServer Server { get; }

    public string Url => Server.Url!;

    public IReadOnlyList<ReceivedSpan> Spans => [.. _spans];

    public IReadOnlyList<ReceivedLog> Logs => [.. _logs];

    /// <summary>Settings that point a host's OTLP exporters (traces, metrics, Serilog's sink) here, flushing quickly.</summary>
    public Dictionary<string, string> Settings => new()
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Url,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
        ["OTEL_METRIC_EXPORT_INTERVAL"] = "1000",
    };

    /// <summary>Polls until <paramref name="predicate"/> holds over what arrived, or fails naming <paramref name="what"/>.</summary>
    public async Task WaitForAsync(Func<OtlpStub, bool> predicate, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!predicate(this))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The OTLP receiver never saw {what} ({_spans.Count} spans, {_logs.Count} log records).");
            }

            await Task.Delay(100);
        }
    }

    public void Dispose() => Server.Stop();

    private static void Decode(byte[]? body, Action<ByteString> decode)
    {
        if (body is not { Length: > 0 })
        {
            return;
        }

        // The body may arrive gzip-compressed (WireMock normally inflates it already).
        if (body is [0x1f, 0x8b, ..])
        {
            using var inflated = new MemoryStream();
            using (var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress))
            {
                gzip.CopyTo(inflated);
            }

            body = inflated.ToArray();
        }

        decode(ByteString.CopyFrom(body));
    }

    private void DecodeTraces(ByteString request)
    {
        foreach (var resourceSpans in Messages(request, 1))
        {
            var service = ServiceOf(resourceSpans);
            foreach (var span in Messages(resourceSpans, 2).SelectMany(scope => Messages(scope, 2)))
            {
                _spans.Enqueue(new ReceivedSpan(
                    service,
                    Hex(Bytes(span, 1)),
                    Hex(Bytes(span, 2)),
                    Hex(Bytes(span, 4)),
                    Bytes(span, 5).ToStringUtf8(),
                    Attributes(span, 9)));
            }
        }
    }

    private void DecodeLogs(ByteString request)
    {
        foreach (var resourceLogs in Messages(request, 1))
        {
            var service = ServiceOf(resourceLogs);
            foreach (var record in Messages(resourceLogs, 2).SelectMany(scope => Messages(scope, 2)))
            {
                _logs.Enqueue(new ReceivedLog(service, Hex(Bytes(record, 9)), AnyValue(Bytes(record, 5)), Attributes(record, 6)));
            }
        }
    }

    private static string ServiceOf(ByteString resourceMessage) =>
        Messages(resourceMessage, 1).Select(resource => Attributes(resource, 1)).FirstOrDefault()
            ?.GetValueOrDefault("service.name") ?? string.Empty;

    private static Dictionary<string, string> Attributes(ByteString message, int field)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var keyValue in Messages(message, field))
        {
            attributes[Bytes(keyValue, 1).ToStringUtf8()] = AnyValue(Bytes(keyValue, 2));
        }

        return attributes;
    }

    /// <summary>AnyValue as text: strings as they are, numbers and booleans formatted, anything nested as its raw UTF-8.</summary>
    private static string AnyValue(ByteString value)
    {
        var input = new CodedInputStream(value.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1:
                    return input.ReadString();
                case 2:
                    return input.ReadBool() ? "true" : "false";
                case 3:
                    return input.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
                case 4:
                    return input.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture);
                default:
                    if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
                    {
                        return input.ReadBytes().ToStringUtf8();
                    }

                    input.SkipLastField();
                    break;
            }
        }

        return string.Empty;
    }

    private static ByteString Bytes(ByteString message, int field) => Messages(message, field).FirstOrDefault() ?? ByteString.Empty;

    /// <summary>Every length-delimited occurrence of <paramref name="field"/> (sub-messages, strings, bytes).</summary>
    private static List<ByteString> Messages(ByteString message, int field)
    {
        var found = new List<ByteString>();
        var input = new CodedInputStream(message.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                found.Add(input.ReadBytes());
            }
            else
            {
                input.SkipLastField();
            }
        }

        return found;
    }

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.ToByteArray());
}

/// <summary>A span as received: the exporting service, W3C ids (hex), name and attributes.</summary>
internal sealed record ReceivedSpan(
    string Service, string TraceId, string SpanId, string ParentSpanId, string Name, IReadOnlyDictionary<string, string> Attributes);

/// <summary>A log record as received: the exporting service, its trace id (hex, empty when none), body and attributes.</summary>
internal sealed record ReceivedLog(string Service, string TraceId, string Body, IReadOnlyDictionary<string, string> Attributes);
