using System.Net;
using Microsoft.Extensions.Configuration;
using Smtpd.Hosting;

namespace Smtpd.Tests.Hosting;

/// <summary>Reading <see cref="SmtpServerOptions"/> and endpoints from configuration.</summary>
public class SmtpServerConfigurationTests
{
    private static IConfiguration Configuration(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static SmtpServerOptions Bind(params (string Key, string? Value)[] values)
    {
        var options = new SmtpServerOptions();
        SmtpServerConfiguration.Bind(Configuration(values), options);
        return options;
    }

    [Fact]
    public void Reference_names_bind_in_camelCase_and_PascalCase()
    {
        SmtpServerOptions options = Bind(("name", "mx.test"), ("Banner", "hello"), ("size", "1048576"), ("HideSize", "true"),
            ("hideENHANCEDSTATUSCODES", "false"), ("LMTP", "1"), ("maxClients", "7"), ("component", "mail"), ("disableReverseLookup", "true"));
        Assert.Equal("mx.test", options.Name);
        Assert.Equal("hello", options.Banner);
        Assert.Equal(1048576, options.Size);
        Assert.True(options.HideSize);
        Assert.False(options.HideEnhancedStatusCodes);
        Assert.True(options.Lmtp);
        Assert.Equal(7, options.MaxClients);
        Assert.Equal("mail", options.Component);
        Assert.True(options.DisableReverseLookup);
    }

    [Fact]
    public void Times_are_milliseconds_or_time_spans()
    {
        SmtpServerOptions options = Bind(("socketTimeout", "1500"), ("closeTimeout", "00:00:05"), ("greetingDelay", "0"), ("reverseLookupTimeout", "250.5"));
        Assert.Equal(TimeSpan.FromMilliseconds(1500), options.SocketTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CloseTimeout);
        Assert.Equal(TimeSpan.Zero, options.GreetingDelay);
        Assert.Equal(TimeSpan.FromMilliseconds(250.5), options.ReverseLookupTimeout);
    }

    [Fact]
    public void Lists_are_arrays_or_comma_separated()
    {
        Assert.Equal(["AUTH", "STARTTLS"], Bind(("disabledCommands:0", "AUTH"), ("disabledCommands:1", "STARTTLS")).DisabledCommands);
        Assert.Equal(["PLAIN", "LOGIN"], Bind(("authMethods", "PLAIN, LOGIN")).AuthMethods);

        // A list replaces the default one (the standard binder would add to it).
        Assert.Equal(["CRAM-MD5"], Bind(("authMethods:0", "CRAM-MD5")).AuthMethods);
    }

    [Fact]
    public void Absent_settings_keep_their_values()
    {
        var defaults = new SmtpServerOptions();
        SmtpServerOptions options = Bind(("size", "10"));
        Assert.Equal(defaults.SocketTimeout, options.SocketTimeout);
        Assert.Equal(defaults.HideEnhancedStatusCodes, options.HideEnhancedStatusCodes);
        Assert.Equal(defaults.AuthMethods, options.AuthMethods);
        Assert.False(SmtpServerConfiguration.IsSetting("store"));
        Assert.True(SmtpServerConfiguration.IsSetting("SOCKETTIMEOUT"));
        Assert.True(SmtpServerConfiguration.IsSetting("listen"));
        Assert.False(SmtpServerConfiguration.IsSetting("onData"));
        Assert.False(SmtpServerConfiguration.IsSetting("logToConsole"));
    }

    [Theory]
    [InlineData("MaxRecipents", "10", "MaxRecipents: unknown setting (did you mean maxRecipients?)")]
    [InlineData("hideStartTLS_", "true", "hideStartTLS_: unknown setting (did you mean hideStartTls?)")]
    [InlineData("store", "/var/mail", "store: unknown setting")]
    [InlineData("Logging:LogLevel:Default", "Debug", "Logging: unknown setting")]
    [InlineData("onData", "x", "onData: unknown setting")]
    [InlineData("certificate", "x", "certificate: unknown setting")]
    public void Unknown_keys_are_errors_naming_the_key(string key, string value, string message) =>
        Assert.Equal(message, Assert.Throws<SmtpConfigurationException>(() => Bind((key, value))).Message);

    [Fact]
    public void Every_plain_option_binds_through_the_standard_binder()
    {
        // Text, numbers, booleans and enums (key and cert are PEM paths, the unauthenticated limit takes false).
        var defaults = new SmtpServerOptions();
        foreach (System.Reflection.PropertyInfo property in typeof(SmtpServerOptions).GetProperties())
        {
            Type type = property.PropertyType;
            if (!SmtpServerConfiguration.IsSetting(property.Name) || !(type == typeof(string) || type == typeof(bool) || type == typeof(int) || type == typeof(long) || type.IsEnum)
                || property.Name is nameof(SmtpServerOptions.MaxAllowedUnauthenticatedCommands) or nameof(SmtpServerOptions.Key) or nameof(SmtpServerOptions.Cert))
            {
                continue;
            }

            object? value = property.GetValue(defaults);
            (string text, object expected) = value switch
            {
                bool flag => (flag ? "0" : "1", !flag),
                int n => ((n + 7).ToString(System.Globalization.CultureInfo.InvariantCulture), n + 7),
                long n => ((n + 7).ToString(System.Globalization.CultureInfo.InvariantCulture), n + 7),
                Enum member => (Enum.GetNames(type).First(name => !Enum.Parse(type, name).Equals(member)), Enum.Parse(type, Enum.GetNames(type).First(name => !Enum.Parse(type, name).Equals(member)))),
                _ => ("set.by.configuration", "set.by.configuration"),
            };
            SmtpServerOptions bound = Bind((char.ToLowerInvariant(property.Name[0]) + property.Name[1..], text));
            Assert.True(expected.Equals(property.GetValue(bound)), property.Name);
        }
    }

    [Fact]
    public void Logger_false_adds_no_console_trace_and_leaves_the_logger_to_the_host_and_true_logs_to_the_console()
    {
        SmtpServerOptions silent = Bind(("logger", "false"));
        Assert.False(silent.LogToConsole);
        Assert.Null(silent.Logger);
        Assert.Null(silent.LoggerFactory);
        SmtpServerOptions logging = Bind(("Logger", "true"));
        Assert.Null(logging.Logger);
        Assert.True(logging.LogToConsole);
    }

    [Theory]
    [InlineData("size", "ten", "size: 'ten' is not a whole number")]
    [InlineData("hideSize", "yes", "hideSize: 'yes' is not true or false")]
    [InlineData("closeTimeout", "30s", "closeTimeout: '30s' is not a time in milliseconds")]
    [InlineData("closeTimeout", "1:x:0", "closeTimeout: '1:x:0' is not a time in milliseconds or as hh:mm:ss")]
    [InlineData("logger", "console", "logger: 'console' is not true or false")]
    [InlineData("maxAuthFailures", "-1", "maxAuthFailures: value ('-1') must be a non-negative value. (Parameter 'value') Actual value was -1.")]
    [InlineData("maxAllowedUnauthenticatedCommands", "true", "maxAllowedUnauthenticatedCommands: 'true' is not a limit; use a number, 0 for no limit, or false for the default of 10")]
    [InlineData("maxAllowedUnauthenticatedCommands", "many", "maxAllowedUnauthenticatedCommands: 'many' is not a number of commands (0 for no limit, false for the default of 10)")]
    [InlineData("sslProtocols", "Tls14", "sslProtocols: 'Tls14' is not one of None, Ssl2, Ssl3, Tls, Default, Tls11, Tls12, Tls13")]
    public void Unusable_values_throw_naming_the_setting(string key, string value, string message)
    {
        SmtpConfigurationException error = Assert.Throws<SmtpConfigurationException>(() => Bind((key, value)));
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Tls_settings_bind_and_key_cert_ca_are_read_from_pem_files()
    {
        string folder = Directory.CreateTempSubdirectory("smtpd-config-").FullName;
        File.WriteAllText(Path.Combine(folder, "key.pem"), "KEY TEXT");
        File.WriteAllText(Path.Combine(folder, "cert.pem"), "CERT TEXT");
        File.WriteAllText(Path.Combine(folder, "ca1.pem"), "CA ONE");
        File.WriteAllText(Path.Combine(folder, "ca2.pem"), "CA TWO");
        SmtpServerOptions options = Bind(("secure", "true"), ("sslProtocols", "Tls12, Tls13"), ("requestCert", "true"),
            ("key", Path.Combine(folder, "key.pem")), ("Cert", Path.Combine(folder, "cert.pem")),
            ("ca:0", Path.Combine(folder, "ca1.pem")), ("ca:1", Path.Combine(folder, "ca2.pem")));
        Assert.True(options.Secure);
        Assert.True(options.RequestCert);
        Assert.Equal(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13, options.SslProtocols);
        Assert.Equal("KEY TEXT", options.Key);
        Assert.Equal("CERT TEXT", options.Cert);
        Assert.Equal(["CA ONE", "CA TWO"], options.Ca);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void Proxy_settings_take_true_false_or_lists()
    {
        SmtpServerOptions all = Bind(("useProxy", "true"), ("useXClient", "false"), ("useXForward", "10.0.0.0/8, 192.0.2.1"), ("ignoredHosts:0", "192.0.2.9"));
        Assert.True(all.UseProxy.IsAll);
        Assert.False(all.UseXClient.IsEnabled);
        Assert.Equal(["10.0.0.0/8", "192.0.2.1"], all.UseXForward.Entries);
        Assert.Equal(["192.0.2.9"], all.IgnoredHosts);

        SmtpServerOptions listed = Bind(("useProxy:0", "127.0.0.1"), ("useProxy:1", "::1"), ("useXClient", "*"));
        Assert.Equal(["127.0.0.1", "::1"], listed.UseProxy.Entries);
        Assert.True(listed.UseXClient.IsAll);

        // Entries are checked by the server constructor, with the option named.
        SmtpServerOptions bad = Bind(("useXClient", "not-an-address"));
        Assert.Contains("UseXClient", Assert.ThrowsAny<ArgumentException>(() => new SmtpServer(bad)).Message);
    }

    [Theory]
    [InlineData("false", 10)]
    [InlineData("0", 0)]
    [InlineData("25", 25)]
    public void Unauthenticated_limit_reads_false_as_the_default(string value, int expected) =>
        Assert.Equal(expected, Bind(("maxAllowedUnauthenticatedCommands", value)).MaxAllowedUnauthenticatedCommands);

    [Fact]
    public void Errors_name_the_full_path_of_a_nested_section()
    {
        IConfiguration root = new ConfigurationBuilder().AddInMemoryCollection([new("Smtp:size", "-")]).Build();
        SmtpConfigurationException error = Assert.Throws<SmtpConfigurationException>(() => SmtpServerConfiguration.Bind(root.GetSection("Smtp"), new SmtpServerOptions()));
        Assert.Equal("Smtp:size: '-' is not a whole number", error.Message);
    }

    [Theory]
    [InlineData("127.0.0.1:2525", "127.0.0.1", 2525)]
    [InlineData("0.0.0.0:25", "0.0.0.0", 25)]
    [InlineData("*:587", "0.0.0.0", 587)]
    [InlineData("localhost:0", "127.0.0.1", 0)]
    [InlineData("[::1]:2525", "::1", 2525)]
    [InlineData("[::]:24", "::", 24)]
    public void Endpoints_parse(string text, string address, int port) =>
        Assert.Equal(new IPEndPoint(IPAddress.Parse(address), port), SmtpServerConfiguration.ParseEndPoint(text));

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("::1:25")]
    [InlineData("mail.example.com:25")]
    [InlineData(":25")]
    public void Bad_endpoints_are_refused(string text) =>
        Assert.Throws<FormatException>(() => SmtpServerConfiguration.ParseEndPoint(text));

    [Fact]
    public void Listen_takes_one_endpoint_or_a_list()
    {
        Assert.Equal([new IPEndPoint(IPAddress.Loopback, 25)], SmtpServerConfiguration.ReadEndPoints(Configuration(("listen", "127.0.0.1:25"))));
        Assert.Equal(
            [new IPEndPoint(IPAddress.Loopback, 25), new IPEndPoint(IPAddress.IPv6Loopback, 25)],
            SmtpServerConfiguration.ReadEndPoints(Configuration(("Listen:0", "127.0.0.1:25"), ("Listen:1", "[::1]:25"))));
        Assert.Empty(SmtpServerConfiguration.ReadEndPoints(Configuration()));
        Assert.Equal("listen: 'nowhere' is not HOST:PORT with a port from 0 to 65535",
            Assert.Throws<SmtpConfigurationException>(() => SmtpServerConfiguration.ReadEndPoints(Configuration(("listen", "nowhere")))).Message);
    }

    [Fact]
    public void The_renamed_Hide_options_bind_under_the_reference_spellings_and_their_own()
    {
        SmtpServerOptions reference = Bind(("hidePIPELINING", "true"), ("hideSTARTTLS", "true"), ("hide8BITMIME", "true"), ("hideSMTPUTF8", "true"),
            ("hideENHANCEDSTATUSCODES", "false"), ("hideDSN", "false"), ("hideREQUIRETLS", "false"));
        SmtpServerOptions dotnet = Bind(("HidePipelining", "true"), ("HideStartTls", "true"), ("Hide8BitMime", "true"), ("HideSmtpUtf8", "true"),
            ("HideEnhancedStatusCodes", "false"), ("HideDsn", "false"), ("HideRequireTls", "false"));
        foreach (SmtpServerOptions options in new[] { reference, dotnet })
        {
            Assert.True(options.HidePipelining && options.HideStartTls && options.Hide8BitMime && options.HideSmtpUtf8);
            Assert.False(options.HideEnhancedStatusCodes || options.HideDsn || options.HideRequireTls);
        }

        Assert.All(["hidePIPELINING", "hideSTARTTLS", "hide8BITMIME", "hideSMTPUTF8", "hideENHANCEDSTATUSCODES", "hideDSN", "hideREQUIRETLS"],
            key => Assert.True(SmtpServerConfiguration.IsSetting(key), key));
    }

    [Fact]
    public void Listen_entries_may_be_objects_with_settings_of_their_own()
    {
        IReadOnlyList<SmtpListenOptions> endpoints = SmtpServerConfiguration.ReadListenOptions(Configuration(
            ("listen:0", "127.0.0.1:25"),
            ("listen:1:address", "127.0.0.1:465"), ("listen:1:secure", "true"), ("listen:1:authOptional", "false"),
            ("listen:2:Address", "[::1]:587"), ("listen:2:AUTHOPTIONAL", "false"), ("listen:2:hideSTARTTLS", "false"), ("listen:2:authMethods", "PLAIN,LOGIN"),
            ("listen:3:address", "127.0.0.1:24"), ("listen:3:lmtp", "true"), ("listen:3:size", "1000"), ("listen:3:secure", "false"),
            ("listen:3:useProxy", "10.0.0.0/8"), ("listen:3:useXClient", "true"), ("listen:3:useXForward", "false"), ("listen:3:allowInsecureAuth", "1")));
        Assert.Equal(4, endpoints.Count);
        Assert.Equal(new IPEndPoint(IPAddress.Loopback, 25), endpoints[0].EndPoint);
        Assert.Null(endpoints[0].TlsMode);
        Assert.Null(endpoints[0].AuthOptional);
        Assert.Equal((SmtpTlsMode.Implicit, false), (endpoints[1].TlsMode, endpoints[1].AuthOptional));
        Assert.Equal(new IPEndPoint(IPAddress.IPv6Loopback, 587), endpoints[2].EndPoint);
        Assert.Equal(["PLAIN", "LOGIN"], endpoints[2].AuthMethods!);
        Assert.False(endpoints[2].HideStartTls);
        SmtpListenOptions lmtp = endpoints[3];
        Assert.Equal((true, 1000L, SmtpTlsMode.StartTls, true), (lmtp.Lmtp, lmtp.Size, lmtp.TlsMode, lmtp.AllowInsecureAuth));
        Assert.NotNull(lmtp.UseProxy);
        Assert.Equal(TrustedPeers.All, lmtp.UseXClient);
        Assert.Equal(TrustedPeers.None, lmtp.UseXForward);

        SmtpListenOptions single = Assert.Single(SmtpServerConfiguration.ReadListenOptions(Configuration(("listen:address", "127.0.0.1:2525"), ("listen:lmtp", "true"))));
        Assert.True(single.Lmtp);
    }

    [Theory]
    [InlineData("listen:0:address", "127.0.0.1:25", "listen:0:name", "mx", "listen:0:name: not a setting an endpoint can replace")]
    [InlineData("listen:0:secure", "true", "listen:0:lmtp", "true", "listen:0:address: '' is not an endpoint \"HOST:PORT\"")]
    [InlineData("listen:0:address", "nowhere", "listen:0:lmtp", "true", "listen:0:address: 'nowhere' is not HOST:PORT")]
    [InlineData("listen:0:address", "127.0.0.1:25", "listen:0:secure", "maybe", "listen:0:secure: 'maybe' is not true or false")]
    public void Bad_listen_objects_are_refused_naming_the_setting(string key1, string value1, string key2, string value2, string message)
    {
        var error = Assert.Throws<SmtpConfigurationException>(() => SmtpServerConfiguration.ReadListenOptions(Configuration((key1, value1), (key2, value2))));
        Assert.StartsWith(message, error.Message, StringComparison.Ordinal);
    }
}
