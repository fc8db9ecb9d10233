namespace Smtpd;

/// <summary>
/// What a PROXY protocol version 2 header says about the TLS connection between the client and the proxy (the
/// <c>PP2_TYPE_SSL</c> TLV, sent by HAProxy with <c>send-proxy-v2-ssl</c> / <c>proxy-v2-options ssl,…</c>).
/// </summary>
public sealed class SmtpProxySsl
{
    internal SmtpProxySsl(byte client, uint verify, string? version, string? commonName, string? cipher, string? signatureAlgorithm, string? keyAlgorithm)
    {
        ClientFlags = client;
        VerifyResult = verify;
        Version = version;
        CommonName = commonName;
        Cipher = cipher;
        SignatureAlgorithm = signatureAlgorithm;
        KeyAlgorithm = keyAlgorithm;
    }

    /// <summary>The raw <c>client</c> bit field (<c>0x01</c> SSL, <c>0x02</c> certificate on this connection, <c>0x04</c> certificate in the session).</summary>
    public byte ClientFlags { get; }

    /// <summary>The client connected to the proxy over TLS (<c>PP2_CLIENT_SSL</c>).</summary>
    public bool IsTls => (ClientFlags & 0x01) != 0;

    /// <summary>The client presented a certificate (on this connection or in the resumed session).</summary>
    public bool HasClientCertificate => (ClientFlags & 0x06) != 0;

    /// <summary>The raw <c>verify</c> field: 0 when the client's certificate was verified successfully.</summary>
    public uint VerifyResult { get; }

    /// <summary>The client presented a certificate and the proxy verified it.</summary>
    public bool IsClientCertificateVerified => HasClientCertificate && VerifyResult == 0;

    /// <summary>The TLS version, for example <c>TLSv1.3</c> (<c>PP2_SUBTYPE_SSL_VERSION</c>).</summary>
    public string? Version { get; }

    /// <summary>The common name of the client certificate's subject (<c>PP2_SUBTYPE_SSL_CN</c>).</summary>
    public string? CommonName { get; }

    /// <summary>The cipher, for example <c>TLS_AES_256_GCM_SHA384</c> (<c>PP2_SUBTYPE_SSL_CIPHER</c>).</summary>
    public string? Cipher { get; }

    /// <summary>The signature algorithm of the client certificate (<c>PP2_SUBTYPE_SSL_SIG_ALG</c>).</summary>
    public string? SignatureAlgorithm { get; }

    /// <summary>The key algorithm of the client certificate (<c>PP2_SUBTYPE_SSL_KEY_ALG</c>).</summary>
    public string? KeyAlgorithm { get; }
}
