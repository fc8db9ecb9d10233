using Smtpd;

namespace Snippets;

public static class ProxySnippets
{
    /// <summary>docs/proxy.md, Running behind HAProxy.</summary>
    public static SmtpServer BehindHaproxy()
    {
        #region haproxy
        var server = new SmtpServer(new SmtpServerOptions
        {
            UseProxy = new[] { "10.0.0.2", "10.0.0.3" },   // the balancers; or UseProxy = true if nothing else can connect
            IgnoredHosts = ["10.0.0.2", "10.0.0.3"],        // their health checks stay out of logs and handlers
        });
        #endregion
        return server;
    }

    /// <summary>docs/proxy.md, Trust lists: each assignment replaces the previous one.</summary>
    public static SmtpServerOptions TrustLists()
    {
        var options = new SmtpServerOptions();
        #region trust-lists
        options.UseXClient = true;                                   // everybody (TrustedPeers.All)
        options.UseXClient = new[] { "10.0.0.0/8", "192.0.2.25" };    // string[] converts
        options.UseXClient = TrustedPeers.Of("2001:db8::/32", "*");  // "*" is everybody
        options.UseXClient = TrustedPeers.Parse("10.0.0.0/8, 192.0.2.25"); // configuration text: "true", "false" or a list
        #endregion
        return options;
    }
}
