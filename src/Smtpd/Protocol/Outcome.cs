namespace Smtpd;

/// <summary>What the command loop does after a command.</summary>
internal enum Outcome : byte
{
    /// <summary>Go on with the next command.</summary>
    Continue,

    /// <summary>The last reply was final (QUIT, any 421): send it and close.</summary>
    Close,

    /// <summary>354 was written: receive the message (<see cref="SmtpProtocol.ReceiveMessageAsync"/>).</summary>
    ReceiveMessage,

    /// <summary>A BDAT command was read: its chunk follows in the input (<see cref="SmtpProtocol.ReceiveChunkAsync"/>).</summary>
    ReceiveChunk,

    /// <summary>220 was written for STARTTLS: discard the buffered plaintext and start the handshake.</summary>
    StartTls,
}
