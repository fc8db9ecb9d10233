using System.Text;

namespace Smtpd.Tests.Units;

/// <summary>The DATA state machine against a simple reference model, over random inputs and random splits.</summary>
public class DotUnstufferTests
{
    /// <summary>The reference semantics written the slow, obvious way (§9.2).</summary>
    private static (string Body, int Consumed)? Model(string input)
    {
        var body = new StringBuilder();
        int i = 0;
        bool lineStart = true;
        bool afterCrLf = true;
        while (i < input.Length)
        {
            if (lineStart && input[i] == '.')
            {
                if (afterCrLf && i + 2 < input.Length + 0 && input[i + 1] == '\r' && input[i + 2] == '\n')
                {
                    return (body.ToString(), i + 3);
                }

                if (afterCrLf && i + 2 >= input.Length)
                {
                    return null;
                }

                if (i + 1 < input.Length && input[i + 1] == '.')
                {
                    i++;
                }
                else if (i + 1 >= input.Length)
                {
                    return null;
                }
            }

            char c = input[i];
            body.Append(c);
            i++;
            if (c == '\n')
            {
                lineStart = true;
                afterCrLf = body.Length >= 2 && body[^2] == '\r';
            }
            else
            {
                lineStart = false;
            }
        }

        return null;
    }

    private static (string Body, int Consumed, bool Ended) Run(byte[] input, IReadOnlyList<int> splits, int outputSize) =>
        Run(input, splits, outputSize, SmtpBareLineEndings.Accept, out _);

    private static (string Body, int Consumed, bool Ended) Run(byte[] input, IReadOnlyList<int> splits, int outputSize, SmtpBareLineEndings policy, out bool sawBare)
    {
        var unstuffer = new DotUnstuffer(policy);
        var body = new List<byte>();
        byte[] output = new byte[outputSize];
        int position = 0;
        int splitIndex = 0;
        while (position < input.Length && !unstuffer.IsEnded)
        {
            int end = splitIndex < splits.Count ? Math.Min(input.Length, position + splits[splitIndex++]) : input.Length;
            int chunkStart = position;
            while (chunkStart < end && !unstuffer.IsEnded)
            {
                int used = unstuffer.Process(input.AsSpan(chunkStart, end - chunkStart), output, discard: false, out int written);
                body.AddRange(output.AsSpan(0, written).ToArray());
                chunkStart += used;
                Assert.True(used > 0 || written > 0, "no progress");
            }

            position = chunkStart;
        }

        sawBare = unstuffer.SawBareLineEnding;
        return (Encoding.Latin1.GetString(body.ToArray()), position, unstuffer.IsEnded);
    }

    /// <summary>The model of <see cref="SmtpBareLineEndings.Normalize"/>: every CR and LF of the message not in a CRLF pair becomes CRLF.</summary>
    private static string NormalizeModel(string body) =>
        System.Text.RegularExpressions.Regex.Replace(body, "\r\n|\r|\n", "\r\n");

    private static bool HasBareLineEnding(string body) => body.Replace("\r\n", "", StringComparison.Ordinal).IndexOfAny(['\r', '\n']) >= 0;

    [Fact]
    public void Line_ending_policies_match_their_models_on_random_inputs_splits_and_buffer_sizes()
    {
        var random = new Random(20261212);
        char[] alphabet = ['a', '.', '\r', '\n', '.', '\r', '\n', 'x'];
        for (int round = 0; round < 20000; round++)
        {
            var text = new StringBuilder();
            int length = random.Next(0, 24);
            for (int i = 0; i < length; i++)
            {
                text.Append(alphabet[random.Next(alphabet.Length)]);
            }

            byte[] input = Encoding.Latin1.GetBytes(text.Append("\r\n.\r\n").ToString());
            (string Body, int Consumed) expected = Model(text.ToString())!.Value;
            int[] splits = Enumerable.Range(0, 8).Select(_ => random.Next(1, 6)).ToArray();
            int outputSize = random.Next(2, 9);

            (string normalized, int normalizedConsumed, bool normalizedEnded) = Run(input, splits, outputSize, SmtpBareLineEndings.Normalize, out bool normalizedBare);
            Assert.True(normalizedEnded, text.ToString());
            Assert.Equal(expected.Consumed, normalizedConsumed);
            Assert.Equal(NormalizeModel(expected.Body), normalized);
            Assert.Equal(HasBareLineEnding(expected.Body), normalizedBare);

            (string rejected, int rejectedConsumed, _) = Run(input, splits, outputSize, SmtpBareLineEndings.Reject, out bool rejectedBare);
            Assert.Equal((expected.Body, expected.Consumed), (rejected, rejectedConsumed));
            Assert.Equal(HasBareLineEnding(expected.Body), rejectedBare);

            (_, _, _) = Run(input, splits, outputSize, SmtpBareLineEndings.Accept, out bool acceptedBare);
            Assert.False(acceptedBare);
        }
    }

    [Theory]
    [InlineData("a\nb\r\n.\r\n", "a\r\nb\r\n")]
    [InlineData("a\rb\r\n.\r\n", "a\r\nb\r\n")]
    [InlineData("a\r\r\n.\r\n", "a\r\n\r\n")]
    [InlineData("a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x@y>\r\n")]
    [InlineData("a\r.\rb\r\n.\r\n", "a\r\n.\r\nb\r\n")]
    [InlineData("a\n..b\r\n.\r\n", "a\r\n.b\r\n")]
    public void Normalize_makes_every_line_ending_CRLF_and_only_CRLF_dot_CRLF_ends_the_message(string input, string expected)
    {
        (string body, int consumed, bool ended) = Run(Encoding.Latin1.GetBytes(input), [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 2, SmtpBareLineEndings.Normalize, out _);
        Assert.True(ended);
        Assert.Equal(input.Length, consumed);
        Assert.Equal(expected, body);
    }

    [Fact]
    public void Matches_the_model_on_random_inputs_splits_and_buffer_sizes()
    {
        var random = new Random(20261125);
        char[] alphabet = ['a', '.', '\r', '\n', '.', '\r', '\n', 'x'];
        for (int round = 0; round < 20000; round++)
        {
            int length = random.Next(0, 24);
            var text = new StringBuilder();
            for (int i = 0; i < length; i++)
            {
                text.Append(alphabet[random.Next(alphabet.Length)]);
            }

            text.Append("\r\n.\r\n");
            string input = text.ToString();
            (string Body, int Consumed)? expected = Model(input);
            Assert.NotNull(expected);
            var splits = Enumerable.Range(0, 8).Select(_ => random.Next(1, 6)).ToArray();
            (string body, int consumed, bool ended) = Run(Encoding.Latin1.GetBytes(input), splits, random.Next(2, 9));
            Assert.True(ended, input);
            Assert.Equal(expected.Value.Body, body);
            Assert.Equal(expected.Value.Consumed, consumed);

            (string discardBody, _, _) = (body, consumed, ended);
            Assert.Equal(expected.Value.Body.Length, Count(Encoding.Latin1.GetBytes(input)));
            _ = discardBody;
        }
    }

    private static long Count(byte[] input)
    {
        var unstuffer = new DotUnstuffer();
        unstuffer.Process(input, default, discard: true, out int written);
        return written;
    }

    [Fact]
    public void Large_plain_text_is_copied_in_large_chunks()
    {
        byte[] input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("The quick brown fox jumps over the lazy dog.\r\n", 2000)) + ".\r\n");
        var unstuffer = new DotUnstuffer();
        byte[] output = new byte[input.Length];
        int used = unstuffer.Process(input, output, discard: false, out int written);
        Assert.True(unstuffer.IsEnded);
        Assert.Equal(input.Length, used);
        Assert.Equal(input.Length - 3, written);
        Assert.True(output.AsSpan(0, written).SequenceEqual(input.AsSpan(0, input.Length - 3)));
    }
}
