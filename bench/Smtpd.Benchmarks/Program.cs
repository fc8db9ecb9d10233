using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Smtpd.Benchmarks;

// Micro-benchmarks of Smtpd's hot paths, with the memory diagnoser. Examples:
//   dotnet run -c Release --project bench/Smtpd.Benchmarks -- --filter '*'
//   dotnet run -c Release --project bench/Smtpd.Benchmarks -- --filter '*DotUnstuffer*' --job short
IConfig config = DefaultConfig.Instance.AddColumn(new ThroughputColumn());
BenchmarkSwitcher.FromAssembly(typeof(ThroughputColumn).Assembly).Run(args, config);
