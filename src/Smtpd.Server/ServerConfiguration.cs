using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Smtpd.Hosting;

namespace Smtpd.Server;

/// <summary>
/// Merges the program's configuration sources. Later sources win: the JSON file of <c>--config</c>, then
/// <c>SMTPD_</c> environment variables, then command-line switches. Keys are case-insensitive.
/// </summary>
internal static class ServerConfiguration
{
    /// <summary>The key naming the JSON file (<c>--config FILE.json</c>, or <c>SMTPD_CONFIG</c>).</summary>
    public const string ConfigKey = "config";

    /// <summary>The prefix of environment variables read as settings.</summary>
    public const string EnvironmentPrefix = "SMTPD_";

    /// <summary>Builds the configuration from <paramref name="args"/>, the environment and the file they name.</summary>
    /// <param name="args">The command line.</param>
    /// <exception cref="SmtpConfigurationException">A switch has no value, or the file cannot be read or is not JSON.</exception>
    public static IConfigurationRoot Build(string[] args)
    {
        args = CompleteSwitches(args);
        try
        {
            // The file's name may itself come from the environment or the command line.
            IConfigurationRoot switches = new ConfigurationBuilder()
                .AddEnvironmentVariables(EnvironmentPrefix)
                .AddCommandLine(args)
                .Build();
            var builder = new ConfigurationBuilder();
            if (switches[ConfigKey] is { } file)
            {
                builder.AddConfiguration(ReadJsonFile(file));
            }

            return builder
                .AddEnvironmentVariables(EnvironmentPrefix)
                .AddCommandLine(args)
                .Build();
        }
        catch (FormatException ex)
        {
            throw new SmtpConfigurationException($"command line: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Every switch has a value (<c>--size 1000</c> or <c>--size=1000</c>), except a boolean setting's, which alone means
    /// <c>true</c> (<c>--lmtp</c>). The configuration provider would silently drop a trailing switch, or take the next
    /// switch as its value, so both are settled here.
    /// </summary>
    /// <returns>The switches, each with its value.</returns>
    private static string[] CompleteSwitches(string[] args)
    {
        var complete = new List<string>(args.Length);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith('-'))
            {
                throw new SmtpConfigurationException($"command line: '{arg}' is not a --setting");
            }

            complete.Add(arg);
            if (!arg.Contains('=', StringComparison.Ordinal))
            {
                if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    complete.Add(args[++i]);
                }
                else if (SettingCatalog.Find(arg.TrimStart('-')) is { IsFlag: true })
                {
                    complete.Add("true");
                }
                else
                {
                    throw new SmtpConfigurationException($"command line: {arg} has no value");
                }
            }
        }

        return [.. complete];
    }

    private static IConfigurationRoot ReadJsonFile(string path)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new SmtpConfigurationException($"config: cannot read '{path}': {ex.Message}", ex);
        }

        try
        {
            return new ConfigurationBuilder().AddJsonStream(new MemoryStream(content)).Build();
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            string reason = ex.InnerException is JsonException json ? json.Message : ex.Message;
            throw new SmtpConfigurationException($"config: '{path}' is not a valid JSON settings file: {reason}", ex);
        }
    }
}
