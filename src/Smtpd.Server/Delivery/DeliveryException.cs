namespace Smtpd.Server.Delivery;

/// <summary>
/// The delivery target could not take a message (a full disk, a missing permission, a folder that is gone, NATS
/// unreachable or not acknowledging in time): nothing was delivered and the client is told to retry (451 4.3.0).
/// </summary>
internal sealed class DeliveryException : Exception
{
    public DeliveryException()
    {
    }

    public DeliveryException(string message)
        : base(message)
    {
    }

    public DeliveryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
