namespace Smtpd;

/// <summary>One type-length-value field of a PROXY protocol version 2 header, as received.</summary>
/// <param name="Type">The TLV type (for example <c>0x02</c> authority, <c>0x20</c> SSL, <c>0xE0</c>–<c>0xEF</c> application-specific).</param>
/// <param name="Value">The value bytes.</param>
public readonly record struct SmtpProxyTlv(byte Type, ReadOnlyMemory<byte> Value);
