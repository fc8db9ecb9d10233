namespace Smtpd.Server;

/// <summary>The store could not write a message (full disk, missing permission, a folder that is gone); the client is told to retry.</summary>
internal sealed class MessageStoreException : Exception
{
    public MessageStoreException()
    {
    }

    public MessageStoreException(string message)
        : base(message)
    {
    }

    public MessageStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
