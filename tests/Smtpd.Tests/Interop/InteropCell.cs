namespace Smtpd.Tests.Interop;

/// <summary>One cell of the interoperability matrix: a transport, with or without AUTH.</summary>
public sealed record InteropCell(InteropTransport Transport, bool Auth)
{
    /// <summary>Every transport, each without and with AUTH.</summary>
    public static TheoryData<InteropTransport, bool> All() => Of(InteropTransport.Plain, InteropTransport.StartTls, InteropTransport.ImplicitTls);

    /// <summary>The given transports, each without and with AUTH.</summary>
    public static TheoryData<InteropTransport, bool> Of(params InteropTransport[] transports)
    {
        var data = new TheoryData<InteropTransport, bool>();
        foreach (InteropTransport transport in transports)
        {
            data.Add(transport, false);
            data.Add(transport, true);
        }

        return data;
    }
}
