namespace Smtpd;

/// <summary>
/// Base64 decoding as the reference (Node's <c>Buffer.from(text, 'base64')</c>) does it: characters outside the
/// alphabet (whitespace, <c>*</c>, …) are skipped, the URL-safe <c>-</c> and <c>_</c> are accepted, the first
/// <c>=</c> ends the data, missing padding is tolerated and a trailing single character is dropped. Never throws.
/// </summary>
internal static class LenientBase64
{
    private static readonly sbyte[] Values = BuildValues();

    /// <summary>The most bytes <paramref name="chars"/> characters can decode to.</summary>
    public static int MaxDecodedLength(int chars) => chars * 3 / 4;

    /// <summary>Decodes <paramref name="text"/> leniently.</summary>
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        byte[] output = new byte[MaxDecodedLength(text.Length)];
        int written = Decode(text, output);
        return written == output.Length ? output : output.AsSpan(0, written).ToArray();
    }

    /// <summary>Decodes <paramref name="text"/> leniently into <paramref name="output"/> (at least <see cref="MaxDecodedLength"/> bytes); returns the count.</summary>
    public static int Decode(ReadOnlySpan<char> text, Span<byte> output)
    {
        int written = 0;
        int accumulator = 0;
        int bits = 0;
        foreach (char c in text)
        {
            if (c == '=')
            {
                break;
            }

            int value = c < 128 ? Values[c] : -1;
            if (value < 0)
            {
                continue;
            }

            accumulator = (accumulator << 6) | value;
            bits += 6;
            if (bits >= 8)
            {
                bits -= 8;
                output[written++] = (byte)(accumulator >> bits);
                accumulator &= (1 << bits) - 1;
            }
        }

        return written;
    }

    private static sbyte[] BuildValues()
    {
        var values = new sbyte[128];
        Array.Fill(values, (sbyte)-1);
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (int i = 0; i < alphabet.Length; i++)
        {
            values[alphabet[i]] = (sbyte)i;
        }

        values['-'] = 62;
        values['_'] = 63;
        return values;
    }
}
