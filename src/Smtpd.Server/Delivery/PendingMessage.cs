using Microsoft.Win32.SafeHandles;

namespace Smtpd.Server.Delivery;

/// <summary>
/// A message of the folder store written under its temporary names and waiting for the <see cref="GroupCommit"/> that
/// makes it durable. The commit owns (and closes) the two handles; <see cref="Durable"/> completes once both files are
/// on disk under their final names, or fails with a <see cref="DeliveryException"/>.
/// </summary>
internal sealed class PendingMessage(string id, SafeFileHandle eml, SafeFileHandle json, string emlTemporary, string jsonTemporary, string emlFinal, string jsonFinal)
{
    /// <summary>The message id.</summary>
    public string Id { get; } = id;

    /// <summary>The written <c>.eml</c>, not yet flushed.</summary>
    public SafeFileHandle Eml { get; } = eml;

    /// <summary>The written <c>.json</c>, not yet flushed.</summary>
    public SafeFileHandle Json { get; } = json;

    /// <summary>The <c>.eml</c> in the dot-folder.</summary>
    public string EmlTemporary { get; } = emlTemporary;

    /// <summary>The <c>.json</c> in the dot-folder.</summary>
    public string JsonTemporary { get; } = jsonTemporary;

    /// <summary>The <c>.eml</c> in the store.</summary>
    public string EmlFinal { get; } = emlFinal;

    /// <summary>The <c>.json</c> in the store.</summary>
    public string JsonFinal { get; } = jsonFinal;

    /// <summary>Completes when the message is durable; continuations never run on the committing thread.</summary>
    public TaskCompletionSource Durable { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set when a step for this message alone failed (its rename); the rest of its batch goes on.</summary>
    public Exception? Failure { get; set; }
}
