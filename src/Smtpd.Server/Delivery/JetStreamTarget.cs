using System.Buffers;
using System.IO.Pipelines;
using System.Security.Authentication;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using Smtpd.Hosting;

namespace Smtpd.Server.Delivery;

/// <summary>
/// Publishes each accepted message to a NATS JetStream stream: the payload is exactly the folder store's <c>.eml</c>, the
/// <c>Smtpd-Envelope</c> header holds its <c>.json</c> (base64), and <c>Nats-Msg-Id</c> is the message id, so a publish
/// retried after a lost acknowledgement is stored once. The message id is returned (and 250 sent) only once the stream
/// acknowledged it; without an acknowledgement within <c>publishTimeout</c> the caller answers 451 and the
/// <see cref="JetStreamRevoker"/> removes whatever of the message reached the stream anyway.
/// </summary>
internal sealed partial class JetStreamTarget : IDeliveryTarget
{
    /// <summary>The header holding the <c>.json</c> envelope, base64-encoded.</summary>
    public const string EnvelopeHeader = "Smtpd-Envelope";

    /// <summary>Room left in a NATS message for the headers and the trace fields when the size limit comes from the server's <c>max_payload</c>.</summary>
    public const int HeaderAllowance = 64 * 1024;

    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan UnavailableFor = TimeSpan.FromSeconds(5);
    private static readonly PipeOptions BufferOptions = new(pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: 64 * 1024, useSynchronizationContext: false);

    private readonly JetStreamSettings _settings;
    private readonly ILogger _logger;
    private readonly NatsConnection _connection;
    private readonly NatsJSContext _js;
    private readonly JetStreamRevoker _revoker;
    private long _unavailableUntil;

    /// <summary>Creates the target; <see cref="PrepareAsync"/> connects.</summary>
    /// <param name="settings">The settings.</param>
    /// <param name="loggerFactory">For the program's and the NATS client's log lines.</param>
    public JetStreamTarget(JetStreamSettings settings, ILoggerFactory loggerFactory)
    {
        _settings = settings;
        _logger = loggerFactory.CreateLogger<JetStreamTarget>();

        // A publish waits for its acknowledgement up to publishTimeout (the JetStream context's request timeout); an attempt
        // that fails at once (no responders while a stream leader is elected, a dropped connection) is sent again after
        // RetryPause with the same Nats-Msg-Id (PublishAsync). A publish while disconnected fails after publishTimeout
        // instead of waiting for the connection indefinitely. The connection's other requests (the revoker's) wait a
        // quarter of publishTimeout.
        TimeSpan otherRequests = TimeSpan.FromTicks(Math.Max(settings.PublishTimeout.Ticks / 4, TimeSpan.FromMilliseconds(250).Ticks));
        _connection = new NatsConnection(new NatsOpts
        {
            Url = string.Join(",", settings.Servers.Select(server => server.GetLeftPart(UriPartial.Authority))),
            Name = "smtpd " + Environment.MachineName,
            AuthOpts = settings.Credentials is null ? NatsAuthOpts.Default : NatsAuthOpts.Default with { CredsFile = settings.Credentials },
            TlsOpts = new NatsTlsOpts { CaFile = settings.TlsCa, CertFile = settings.TlsCert, KeyFile = settings.TlsKey },
            LoggerFactory = loggerFactory,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            RequestTimeout = otherRequests,
            CommandTimeout = settings.PublishTimeout,
            PublishTimeoutOnDisconnected = true,
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(250),
            ReconnectWaitMax = TimeSpan.FromSeconds(2),
        });
        _js = new NatsJSContext(_connection, new NatsJSOpts(_connection.Opts, requestTimeout: settings.PublishTimeout));
        _revoker = new JetStreamRevoker(_js, _connection, settings, _logger);
    }

    /// <inheritdoc/>
    public string Description => $"JetStream stream {_settings.Stream} (subject {_settings.Subject}) at {_settings.ServersForDisplay}";

    /// <inheritdoc/>
    public long? MaxMessageSize { get; private set; }

    /// <inheritdoc/>
    public bool IsAvailable =>
        _connection.ConnectionState == NatsConnectionState.Open && Environment.TickCount64 >= Volatile.Read(ref _unavailableUntil);

    /// <summary>
    /// Connects, then checks the stream (creating it when <c>createStream</c> is set): it must exist and take the subject.
    /// <see cref="MaxMessageSize"/> becomes the smaller of the stream's and the server's limits, less
    /// <see cref="HeaderAllowance"/>.
    /// </summary>
    /// <exception cref="SmtpConfigurationException">NATS cannot be reached, has no JetStream, or the stream is missing or unusable.</exception>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        string servers = _settings.ServersForDisplay;
        try
        {
            await _connection.ConnectAsync();
        }
        catch (NatsException ex)
        {
            throw new SmtpConfigurationException(DescribeConnectFailure(ex), ex);
        }

        INatsServerInfo server = _connection.ServerInfo!;
        if (!server.JetStreamAvailable)
        {
            throw new SmtpConfigurationException($"store: the NATS server at {servers} has no JetStream (start nats-server with -js)");
        }

        StreamInfo stream = await GetOrCreateStreamAsync(cancellationToken);
        if (!stream.Config.Subjects?.Any(pattern => SubjectMatches(pattern, _settings.Subject)) ?? true)
        {
            throw new SmtpConfigurationException(
                $"nats: stream '{_settings.Stream}' does not take the subject '{_settings.Subject}' (its subjects: {string.Join(", ", stream.Config.Subjects ?? [])})");
        }

        long limit = server.MaxPayload;
        if (stream.Config.MaxMsgSize > 0)
        {
            limit = Math.Min(limit, stream.Config.MaxMsgSize);
        }

        MaxMessageSize = Math.Max(limit - HeaderAllowance, 0);
        _revoker.Start();
    }

    /// <inheritdoc/>
    public async Task<string?> DeliverAsync(SmtpDataStream message, SmtpSession session, string serverName, CancellationToken cancellationToken)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        string id = MessageId.Create(session, now);
        var buffer = new Pipe(BufferOptions);
        try
        {
            // The whole message is held (in pooled 64 KiB segments) because one NATS message carries it; the size limit
            // bounds it. Past the limit nothing more is kept: the library drains the rest and refuses the message.
            buffer.Writer.Write(TraceFields.Build(session, serverName, id, now));
            int read;
            while ((read = await message.ReadAsync(buffer.Writer.GetMemory(16 * 1024), cancellationToken)) > 0)
            {
                if (message.SizeExceeded)
                {
                    return null;
                }

                buffer.Writer.Advance(read);
            }

            await buffer.Writer.CompleteAsync();
            ReadResult eml = await buffer.Reader.ReadAsync(CancellationToken.None);
            var headers = new NatsHeaders { [EnvelopeHeader] = Convert.ToBase64String(EnvelopeJson.Build(session, message.ByteLength)) };

            // Once the message is complete it is published whatever happens to the client's connection.
            await PublishAsync(id, eml.Buffer, headers);
            return id;
        }
        finally
        {
            await buffer.Writer.CompleteAsync();
            await buffer.Reader.CompleteAsync();
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _revoker.DisposeAsync();
        await _connection.DisposeAsync();
    }

    /// <summary>Whether a stream subject (with <c>*</c> and <c>&gt;</c> wildcards) takes <paramref name="subject"/>.</summary>
    internal static bool SubjectMatches(string pattern, string subject)
    {
        string[] patternTokens = pattern.Split('.');
        string[] subjectTokens = subject.Split('.');
        for (int i = 0; i < patternTokens.Length; i++)
        {
            if (patternTokens[i] == ">")
            {
                return subjectTokens.Length > i;
            }

            if (i >= subjectTokens.Length || (patternTokens[i] != "*" && patternTokens[i] != subjectTokens[i]))
            {
                return false;
            }
        }

        return patternTokens.Length == subjectTokens.Length;
    }

    /// <summary>
    /// Publishes until the stream acknowledges (a duplicate acknowledgement included: an earlier attempt was stored) or
    /// <c>publishTimeout</c> has passed. Every attempt carries the same <c>Nats-Msg-Id</c>.
    /// </summary>
    /// <exception cref="DeliveryException">No acknowledgement in time, or the stream refused the message.</exception>
    private async Task PublishAsync(string id, ReadOnlySequence<byte> eml, NatsHeaders headers)
    {
        using var deadline = new CancellationTokenSource(_settings.PublishTimeout);
        var options = new NatsJSPubOpts { MsgId = id, RetryAttempts = 1 };
        string reason = "no acknowledgement";
        bool uncertain = false;
        while (true)
        {
            try
            {
                PubAckResponse ack = await _js.PublishAsync(_settings.Subject, eml, NatsRawSerializer<ReadOnlySequence<byte>>.Default, options, headers, deadline.Token);
                if (ack.Error is null)
                {
                    return;
                }

                // The stream answered and refused (full, sealed, too large): this attempt stored nothing.
                reason = $"the stream refused it: {ack.Error.Description} ({ack.Error.ErrCode})";
                break;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                uncertain = true;
                break;
            }
            catch (Exception ex)
            {
                // No acknowledgement or no connection (a NatsException, or the client's own time-outs and cancellations
                // while it reconnects): the attempt may have reached the stream, or may still reach it. Whatever the
                // client throws, the message is answered 451 at the deadline, never left to abort the session.
                uncertain = true;
                reason = Innermost(ex).Message;
            }

            try
            {
                await Task.Delay(RetryPause, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        Volatile.Write(ref _unavailableUntil, Environment.TickCount64 + (long)UnavailableFor.TotalMilliseconds);
        if (uncertain)
        {
            _revoker.Revoke(id);
        }

        throw new DeliveryException($"stream {_settings.Stream}: {reason} within {_settings.PublishTimeout.TotalMilliseconds} ms for {id}");
    }

    private async Task<StreamInfo> GetOrCreateStreamAsync(CancellationToken cancellationToken)
    {
        try
        {
            try
            {
                return (await _js.GetStreamAsync(_settings.Stream, cancellationToken: cancellationToken)).Info;
            }
            catch (NatsJSApiException ex) when (ex.Error.Code == 404 && _settings.CreateStream)
            {
                var config = new StreamConfig(_settings.Stream, [_settings.Subject])
                {
                    NumReplicas = _settings.Replicas,
                    Storage = StreamConfigStorage.File,
                    Retention = StreamConfigRetention.Workqueue,
                    DuplicateWindow = TimeSpan.FromMinutes(2),
                };
                INatsJSStream created = await _js.CreateStreamAsync(config, cancellationToken);
                LogCreated(_logger, _settings.Stream, _settings.Subject, _settings.Replicas);
                return created.Info;
            }
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            throw new SmtpConfigurationException($"nats: stream '{_settings.Stream}' does not exist and createStream is false", ex);
        }
        catch (NatsJSApiException ex)
        {
            throw new SmtpConfigurationException($"nats: stream '{_settings.Stream}': {ex.Error.Description} (error {ex.Error.ErrCode})", ex);
        }
        catch (NatsException ex)
        {
            throw new SmtpConfigurationException($"nats: cannot check stream '{_settings.Stream}': {Innermost(ex).Message}", ex);
        }
    }

    /// <summary>
    /// The start error for a failed first connection: the client's innermost reason, and what to check when the reason is
    /// trust or authentication. The URLs are shown without their user and password.
    /// </summary>
    private string DescribeConnectFailure(NatsException ex)
    {
        // The client names the .creds file it could not use (unreadable, no JWT or seed) in its own message.
        if (_settings.Credentials is { } credentials && ex.Message.Contains(credentials, StringComparison.Ordinal))
        {
            return $"nats:credentials: {ex.Message}";
        }

        Exception reason = Innermost(ex);
        string hint = reason switch
        {
            AuthenticationException => _settings.TlsCa is null
                ? " (the server's certificate must be valid for the URL's host and signed by a CA that the system trusts, or one given as nats:tlsCa)"
                : " (the server's certificate must be valid for the URL's host and signed by a CA of nats:tlsCa)",
            NatsServerException when reason.Message.Contains("Authorization Violation", StringComparison.OrdinalIgnoreCase) => _settings.Credentials is null
                ? " (NATS refused the user and password of the URL, or wants credentials)"
                : " (NATS refused the user of nats:credentials)",
            CryptographicException when _settings.TlsCert is null => " (the TLS handshake failed: a server that verifies clients wants nats:tlsCert and nats:tlsKey)",
            CryptographicException => " (the TLS handshake failed: does the server trust the CA of nats:tlsCert?)",
            _ => "",
        };
        return $"store: cannot connect to NATS at {_settings.ServersForDisplay}: {reason.Message}{hint}";
    }

    private static Exception Innermost(Exception ex) => ex.InnerException is { } inner ? Innermost(inner) : ex;

    [LoggerMessage(100, LogLevel.Information, "Created JetStream stream {Stream} for subject {Subject} with {Replicas} replica(s)")]
    private static partial void LogCreated(ILogger logger, string stream, string subject, int replicas);
}
