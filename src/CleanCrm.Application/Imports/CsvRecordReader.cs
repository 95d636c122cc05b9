using System.Buffers;
using System.Text;

namespace CleanCrm.Application.Imports;

/// <summary>A structural problem with the file (not with one row's values): the whole import fails, nothing is written.</summary>
public sealed class CsvFormatException(int line, string message) : Exception($"line {line}: {message}")
{
    public int Line { get; } = line;
}

/// <summary>
/// Streams RFC 4180 records from UTF-8 bytes: comma separated, fields optionally quoted, <c>""</c> inside quotes is a
/// quote, quoted fields may hold commas and line breaks, CRLF/LF/CR end a record. Invalid UTF-8, a quote inside an
/// unquoted field, text after a closing quote, a quote left open at the end of the file and over-long fields are
/// <see cref="CsvFormatException"/>s. Blank lines are skipped. Holds one buffer and the current record, never the file.
/// </summary>
public sealed class CsvRecordReader
{
    private static readonly SearchValues<char> UnquotedStops = SearchValues.Create(",\r\n\"");
    private static readonly SearchValues<char> QuotedStops = SearchValues.Create("\"\r\n");

    private readonly Stream _stream;
    private readonly int _maxFieldLength;
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetDecoder();
    private readonly byte[] _bytes = new byte[64 * 1024];
    private readonly char[] _chars = new char[64 * 1024 + 4];
    private readonly StringBuilder _field = new();
    private int _charCount;
    private int _position;
    private bool _endOfStream;
    private bool _atStart = true;
    private long _bytesConsumed;
    private int _line = 1;
    private bool _pendingCr;

    public CsvRecordReader(Stream stream, int maxFieldLength = 32_768)
    {
        _stream = stream;
        _maxFieldLength = maxFieldLength;
    }

    /// <summary>The physical line (1-based) on which the record last returned by <see cref="ReadAsync"/> started.</summary>
    public int RecordLine { get; private set; }

    /// <summary>Reads the next record into <paramref name="fields"/>; false at the end of the file.</summary>
    public async ValueTask<bool> ReadAsync(List<string> fields, CancellationToken cancellationToken)
    {
        while (true)
        {
            fields.Clear();
            var started = false;
            var state = State.FieldStart;
            _field.Clear();
            while (true)
            {
                if (_position == _charCount)
                {
                    if (!await FillAsync(cancellationToken))
                    {
                        if (state == State.Quoted)
                        {
                            throw new CsvFormatException(
                                RecordLine, "a quoted field is never closed (unbalanced quote) before the end of the file.");
                        }

                        if (!started)
                        {
                            return false;
                        }

                        fields.Add(_field.ToString());
                        return true;
                    }
                }

                if (!started)
                {
                    started = true;
                    RecordLine = _line;
                }

                var span = _chars.AsSpan(_position, _charCount - _position);
                switch (state)
                {
                    case State.FieldStart when span[0] == '"':
                        _position++;
                        state = State.Quoted;
                        continue;
                    case State.FieldStart or State.Unquoted:
                        {
                            var stop = span.IndexOfAny(UnquotedStops);
                            if (stop >= 0 && _field.Length == 0 && span[stop] != '"')
                            {
                                // The common case: the whole unquoted field is in the buffer, so no copy through the builder.
                                if (stop > _maxFieldLength)
                                {
                                    throw new CsvFormatException(_line, $"a field is longer than {_maxFieldLength} characters.");
                                }

                                var value = stop == 0 ? string.Empty : new string(span[..stop]);
                                var end = span[stop];
                                _position += stop + 1;
                                if (end == ',')
                                {
                                    fields.Add(value);
                                    state = State.FieldStart;
                                    continue;
                                }

                                NewLine(end);
                                if (fields.Count == 0 && value.Length == 0)
                                {
                                    started = false;
                                    continue;
                                }

                                fields.Add(value);
                                return true;
                            }

                            var take = stop < 0 ? span.Length : stop;
                            Append(span[..take]);
                            _position += take;
                            state = State.Unquoted;
                            if (stop < 0)
                            {
                                continue;
                            }

                            var c = span[stop];
                            _position++;
                            if (c == ',')
                            {
                                fields.Add(_field.ToString());
                                _field.Clear();
                                state = State.FieldStart;
                                continue;
                            }

                            if (c == '"')
                            {
                                throw new CsvFormatException(
                                    _line, "a quote inside an unquoted field; quote the whole field and double the quote (\"\").");
                            }

                            NewLine(c);
                            if (fields.Count == 0 && _field.Length == 0)
                            {
                                started = false;
                                continue;
                            }

                            fields.Add(_field.ToString());
                            return true;
                        }

                    case State.Quoted:
                        {
                            var stop = span.IndexOfAny(QuotedStops);
                            var take = stop < 0 ? span.Length : stop;
                            Append(span[..take]);
                            _position += take;
                            if (stop < 0)
                            {
                                continue;
                            }

                            var c = span[stop];
                            _position++;
                            if (c == '"')
                            {
                                state = State.QuoteInQuoted;
                            }
                            else
                            {
                                NewLine(c);
                                Append("\n");
                            }

                            continue;
                        }

                    case State.QuoteInQuoted:
                        {
                            var c = span[0];
                            _position++;
                            if (c == '"')
                            {
                                Append("\"");
                                state = State.Quoted;
                                continue;
                            }

                            if (c == ',')
                            {
                                fields.Add(_field.ToString());
                                _field.Clear();
                                state = State.FieldStart;
                                continue;
                            }

                            if (c is '\r' or '\n')
                            {
                                NewLine(c);
                                fields.Add(_field.ToString());
                                return true;
                            }

                            throw new CsvFormatException(
                                _line, $"unexpected '{c}' after a closing quote; a quoted field must end at a comma or a line break.");
                        }
                }
            }
        }
    }

    private void NewLine(char c)
    {
        // CRLF counts once: the LF right after a CR is swallowed when the buffer is read (see SkipLfAfterCr).
        _line++;
        _pendingCr = c == '\r';
        SkipLfAfterCr();
    }

    private void SkipLfAfterCr()
    {
        if (_pendingCr && _position < _charCount)
        {
            if (_chars[_position] == '\n')
            {
                _position++;
            }

            _pendingCr = false;
        }
    }

    private void Append(ReadOnlySpan<char> text)
    {
        if (_field.Length + text.Length > _maxFieldLength)
        {
            throw new CsvFormatException(_line, $"a field is longer than {_maxFieldLength} characters.");
        }

        _field.Append(text);
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_endOfStream)
            {
                return false;
            }

            var read = await _stream.ReadAsync(_bytes, cancellationToken);
            var flush = read == 0;
            _endOfStream = flush;
            var offset = 0;
            if (_atStart && read > 0)
            {
                _atStart = false;
                if (read >= 3 && _bytes[0] == 0xEF && _bytes[1] == 0xBB && _bytes[2] == 0xBF)
                {
                    offset = 3;
                }
            }

            try
            {
                _decoder.Convert(_bytes, offset, read - offset, _chars, 0, _chars.Length, flush, out _, out var charsUsed, out _);
                _charCount = charsUsed;
            }
            catch (DecoderFallbackException exception)
            {
                var index = Math.Max(0, exception.Index);
                var lines = _bytes.AsSpan(offset, Math.Min(index, read - offset)).Count((byte)'\n');
                throw new CsvFormatException(
                    _line + lines,
                    $"the file is not valid UTF-8 (invalid byte sequence at byte offset {_bytesConsumed + offset + index}); "
                    + "save it as UTF-8.");
            }

            _bytesConsumed += read;
            _position = 0;
            SkipLfAfterCr();
            if (_position < _charCount)
            {
                return true;
            }
        }
    }

    private enum State
    {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
}
