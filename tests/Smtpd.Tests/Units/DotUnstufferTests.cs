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

    private static (string Body, int Consumed, bool Ended) Run(byte[] input, IReadOnlyList<int> splits, int outputSize)
    {
        var unstuffer = new DotUnstuffer();
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

        return (Encoding.Latin1.GetString(body.ToArray()), position, unstuffer.IsEnded);
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
