#!/usr/bin/python3
"""Turns the runs of bench/run (runs.jsonl, machine.json) into the Markdown report.

usage: report.py RESULTS-DIR [--docs PATH]
Writes RESULTS-DIR/benchmarks.md, and PATH too with --docs.
"""
import argparse
import json
import os
import statistics
import sys

SERVERS = {
    "smtpd": "Smtpd",
    "smtpd-default": "Smtpd, default scheduling",
    "smtp-sink": "Postfix smtp-sink",
    "node": "nodemailer smtp-server",
    "smtpserver": "SmtpServer (NuGet)",
    "aiosmtpd": "aiosmtpd",
    "smtpd-store": "Smtpd.Server, folder store",
    "smtpd-nats": "Smtpd.Server, JetStream (1 replica)",
    "postfix": "Postfix smtpd into its queue",
}
PEERS = ["smtp-sink", "node", "smtpserver", "aiosmtpd"]

WORKLOADS = {
    "W1": "1 connection, 2,000 messages of 1 KiB (latency)",
    "W2-src": "50 connections, 20,000 messages of 4 KiB, sent by Postfix `smtp-source -d`",
    "W2": "50 connections, 20,000 messages of 4 KiB, sent by Smtpd.LoadGen",
    "W2-pipe": "as W2, with PIPELINING (MAIL, RCPT and DATA sent as one group)",
    "W3": "10 connections, 200 messages of 1 MiB (streaming)",
    "W3-BDAT": "as W3, each message sent with BDAT (RFC 3030 CHUNKING, one `BDAT 1048576 LAST`); only Smtpd offers CHUNKING",
    "W4": "20 connections with STARTTLS, 5,000 messages of 4 KiB",
    "W5": "2,000 idle connections after EHLO: server memory per connection",
    "W6": "a new connection per message, 20 at a time, 5,000 messages of 1 KiB",
    "W7": "durable acceptance: 50 connections, 20,000 messages of 4 KiB sent by `smtp-source`, kept before the 250",
}

# smtp-source -l 4096 sends 4096 bytes of payload plus a few header lines.
SMTP_SOURCE_PAYLOAD = 4096


def load(results_dir):
    runs = []
    with open(os.path.join(results_dir, "runs.jsonl"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    with open(os.path.join(results_dir, "machine.json"), encoding="utf-8") as f:
        machine = json.load(f)
    return runs, machine


def metrics(run):
    """The figures of one run, or None for a run that measured nothing."""
    if run["status"] in ("skipped", "failed"):
        return None
    lg = run.get("loadgen")
    m = {"errors": 0}
    cpu = run.get("server_cpu_s")
    if run.get("peak_rss_kib") is not None:
        m["peak_rss_mib"] = run["peak_rss_kib"] / 1024
    if run["client"] == "smtp-source":
        src = run["smtp_source"]
        n = run["messages_requested"]
        if run.get("client_exit") != 0 or not src.get("real_s"):
            m["errors"] = 1
            return m
        m["msgs_per_s"] = n / src["real_s"]
        m["mb_per_s"] = n * SMTP_SOURCE_PAYLOAD / src["real_s"] / 1e6
        m["client_cpu_us"] = (src["user_s"] + src["sys_s"]) * 1e6 / n
        if cpu is not None:
            m["server_cpu_us"] = cpu * 1e6 / n
        return m
    if lg is None:
        m["errors"] = 1
        return m
    m["errors"] = lg["errors"]
    if lg["mode"] == "idle":
        server = lg.get("server") or {}
        if server.get("rss_per_conn_kib") is not None:
            m["kib_per_conn"] = server["rss_per_conn_kib"]
        if server.get("rss_idle_kib", -1) >= 0:
            m["idle_rss_mib"] = server["rss_idle_kib"] / 1024
        m["setup_s"] = lg["setup_s"]
        m["established"] = lg["established"]
        m["dropped"] = lg.get("dropped_during_hold", 0)
        return m
    completed = lg["completed"]
    m["msgs_per_s"] = lg["messages_per_s"]
    m["mb_per_s"] = lg["mb_per_s"]
    m["client_cpu_us"] = lg["client_cpu_us_per_msg"]
    if cpu is not None and completed > 0:
        m["server_cpu_us"] = cpu * 1e6 / completed
    if lg.get("latency_us"):
        m["p50_ms"] = lg["latency_us"]["p50"] / 1000
        m["p99_ms"] = lg["latency_us"]["p99"] / 1000
    if lg["mode"] == "per-message" and lg.get("greeting_latency_us"):
        m["greet_p50_ms"] = lg["greeting_latency_us"]["p50"] / 1000
    return m


def fmt(value, digits):
    if value is None:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def cell(values, digits):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med, digits)
    return f"{fmt(med, digits)} ({fmt(min(values), digits)}–{fmt(max(values), digits)})"


def median_of(table, workload, server, key):
    values = [m.get(key) for m in table.get((workload, server), []) if m is not None and m.get(key) is not None]
    return statistics.median(values) if values else None


MESSAGE_COLUMNS = [
    ("msg/s", "msgs_per_s", 0),
    ("MB/s", "mb_per_s", 1),
    ("server CPU µs/msg", "server_cpu_us", 1),
    ("peak RSS MiB", "peak_rss_mib", 1),
    ("p50 ms", "p50_ms", 3),
    ("p99 ms", "p99_ms", 3),
    ("errors", "errors", 0),
    ("generator CPU µs/msg", "client_cpu_us", 1),
]
W6_COLUMNS = MESSAGE_COLUMNS[:6] + [("greeting p50 ms", "greet_p50_ms", 3)] + MESSAGE_COLUMNS[6:]
IDLE_COLUMNS = [
    ("KiB per idle connection", "kib_per_conn", 2),
    ("RSS with the connections MiB", "idle_rss_mib", 1),
    ("peak RSS MiB", "peak_rss_mib", 1),
    ("set-up s", "setup_s", 2),
    ("established", "established", 0),
    ("dropped", "dropped", 0),
    ("errors", "errors", 0),
]


def workload_table(workload, servers, runs_by_key, table, out):
    columns = IDLE_COLUMNS if workload == "W5" else W6_COLUMNS if workload == "W6" else MESSAGE_COLUMNS
    out.append(f"### {workload}: {WORKLOADS[workload]}")
    out.append("")
    out.append("| server | " + " | ".join(c[0] for c in columns) + " |")
    out.append("|---|" + "---:|" * len(columns))
    for server in servers:
        runs = runs_by_key.get((workload, server), [])
        if not runs:
            continue
        measured = [m for m in table.get((workload, server), []) if m is not None]
        if not measured:
            reasons = sorted({(r["note"] or r["status"]) for r in runs})
            out.append(f"| {SERVERS[server]} | n/a: {'; '.join(reasons)} |" + " – |" * (len(columns) - 1))
            continue
        cells = [cell([m.get(key) for m in measured], digits) for _, key, digits in columns]
        out.append(f"| {SERVERS[server]} | " + " | ".join(cells) + " |")
    out.append("")


def targets(table, servers):
    """The issue's targets as ratios of medians within this run."""
    rows = []

    def peers_with(workload, key):
        return {p: median_of(table, workload, p, key) for p in PEERS if p in servers and median_of(table, workload, p, key) is not None}

    def row(name, value, target, met):
        rows.append((name, value, target, "–" if met is None else ("yes" if met else "no")))

    for w in ("W2", "W2-src"):
        s_cpu = median_of(table, w, "smtpd", "server_cpu_us")
        k_cpu = median_of(table, w, "smtp-sink", "server_cpu_us")
        if s_cpu is not None and k_cpu:
            row(f"{w}: server CPU per message, Smtpd ÷ smtp-sink", f"{s_cpu / k_cpu:.2f} ({s_cpu:.1f} ÷ {k_cpu:.1f} µs)", "≤ 0.75", s_cpu / k_cpu <= 0.75)
        s_rate = median_of(table, w, "smtpd", "msgs_per_s")
        k_rate = median_of(table, w, "smtp-sink", "msgs_per_s")
        if s_rate is not None and k_rate:
            row(f"{w}: messages/s, Smtpd ÷ smtp-sink", f"{s_rate / k_rate:.2f}", "≥ 1.00", s_rate / k_rate >= 1.0)
    s_rate = median_of(table, "W2-pipe", "smtpd", "msgs_per_s")
    k_rate = median_of(table, "W2-pipe", "smtp-sink", "msgs_per_s")
    if s_rate is not None and k_rate:
        row("W2-pipe: messages/s, Smtpd ÷ smtp-sink", f"{s_rate / k_rate:.2f}", "≥ 1.00", s_rate / k_rate >= 1.0)
    s_p99 = median_of(table, "W2-pipe", "smtpd", "p99_ms")
    if s_p99 is not None:
        row("W2-pipe: Smtpd p99 latency (no 40 ms delayed-ACK stall)", f"{s_p99:.2f} ms", "< 40 ms", s_p99 < 40)
    s_p50 = median_of(table, "W1", "smtpd", "p50_ms")
    peers = peers_with("W1", "p50_ms")
    if s_p50 is not None and peers:
        best = min(peers, key=peers.get)
        row("W1: p50 latency, Smtpd ÷ best peer", f"{s_p50 / peers[best]:.2f} ({s_p50:.3f} ÷ {peers[best]:.3f} ms, {SERVERS[best]})", "≤ 1.00", s_p50 <= peers[best])
    s_mb = median_of(table, "W3", "smtpd", "mb_per_s")
    n_mb = median_of(table, "W3", "smtpserver", "mb_per_s")
    if s_mb is not None and n_mb:
        row("W3: MB/s, Smtpd ÷ SmtpServer", f"{s_mb / n_mb:.2f}", "≥ 1.50", s_mb / n_mb >= 1.5)
    for server in ("smtpd", "smtpd-default"):
        b_mb = median_of(table, "W3-BDAT", server, "mb_per_s")
        d_mb = median_of(table, "W3", server, "mb_per_s")
        b_cpu = median_of(table, "W3-BDAT", server, "server_cpu_us")
        d_cpu = median_of(table, "W3", server, "server_cpu_us")
        if b_mb is not None and d_mb:
            row(f"W3-BDAT: MB/s, BDAT ÷ DATA ({SERVERS[server]}, for information)", f"{b_mb / d_mb:.2f} ({b_mb:,.1f} ÷ {d_mb:,.1f})", "–", None)
        if b_cpu is not None and d_cpu:
            row(f"W3-BDAT: server CPU per MiB, BDAT ÷ DATA ({SERVERS[server]}, for information)",
                f"{b_cpu / d_cpu:.2f} ({b_cpu:,.0f} ÷ {d_cpu:,.0f} µs)", "–", None)
    s_rate = median_of(table, "W4", "smtpd", "msgs_per_s")
    peers = peers_with("W4", "msgs_per_s")
    if s_rate is not None and peers:
        best = max(peers, key=peers.get)
        row("W4: messages/s, Smtpd ÷ best peer", f"{s_rate / peers[best]:.2f} ({SERVERS[best]})", "≥ 1.30", s_rate / peers[best] >= 1.3)
    elif "smtpd" in servers and peers:
        row("W4: messages/s, Smtpd ÷ best peer", "not measured (no STARTTLS in this Smtpd build)", "≥ 1.30", None)
    s_rate = median_of(table, "W6", "smtpd", "msgs_per_s")
    k_rate = median_of(table, "W6", "smtp-sink", "msgs_per_s")
    if s_rate is not None and k_rate:
        row("W6: messages/s, Smtpd ÷ smtp-sink", f"{s_rate / k_rate:.2f}", "≥ 1.00", s_rate / k_rate >= 1.0)
    s_rate = median_of(table, "W7", "smtpd-store", "msgs_per_s")
    p_rate = median_of(table, "W7", "postfix", "msgs_per_s")
    if s_rate is not None and p_rate:
        row("W7: durably accepted messages/s, Smtpd.Server folder store ÷ Postfix queue", f"{s_rate / p_rate:.2f} ({s_rate:,.0f} ÷ {p_rate:,.0f})", "≥ 4.00", s_rate / p_rate >= 4.0)
    n_rate = median_of(table, "W7", "smtpd-nats", "msgs_per_s")
    if s_rate is not None and n_rate:
        row("W7: messages/s, JetStream target ÷ folder store (issue 15, for information)", f"{n_rate / s_rate:.2f} ({n_rate:,.0f} ÷ {s_rate:,.0f})", "–", None)
    s_kib = median_of(table, "W5", "smtpd", "kib_per_conn")
    if s_kib is not None:
        peers = peers_with("W5", "kib_per_conn")
        best = f"; best peer {min(peers.values()):.1f} KiB" if peers else ""
        row("W5: server memory per idle connection, Smtpd", f"{s_kib:.2f} KiB{best}", "≤ 4 KiB", s_kib <= 4)
    return rows


def render(runs, machine):
    servers = [s for s in SERVERS if any(r["server"] == s for r in runs)]
    workloads = [w for w in WORKLOADS if any(r["workload"] == w for r in runs)]
    runs_by_key = {}
    table = {}
    for r in runs:
        runs_by_key.setdefault((r["workload"], r["server"]), []).append(r)
        table.setdefault((r["workload"], r["server"]), []).append(metrics(r))

    reps = machine.get("reps")
    scale = float(machine.get("scale", 1))
    out = ["# Benchmarks", ""]
    out.append("Smtpd side by side with its peers, each as a discard sink (accept every sender and recipient, read each "
               "message to its end, discard it) on its own loopback port, measured in one run of `bench/run` on one "
               "machine. Only ratios within one run mean anything; absolute numbers depend on the machine and its load.")
    out.append("")
    if scale != 1 or reps != 3:
        out.append(f"**This is a reduced run (scale {scale:g}, {reps} repetition(s)): use it to iterate, not to compare.**")
        out.append("")
    out.append("## Command and machine")
    out.append("")
    out.append(f"- Command: `{machine['command']}` (from the repository root; it installs the peers, builds in Release and runs everything)")
    out.append(f"- Date: {machine['date']}, commit {machine['git']}")
    out.append(f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']}; {machine['os']}")
    out.append(f"- Load average before / after: {machine['load_before']} / {machine.get('load_after', '?')}")
    out.append(f"- Software: .NET SDK {machine['dotnet']}; Node.js {machine['node']} with smtp-server {machine['smtp_server_node']}; "
               f"SmtpServer {machine['smtpserver_nuget']} (NuGet); {machine['python']} with aiosmtpd {machine['aiosmtpd']}; "
               f"Postfix {machine['postfix']} (smtp-sink, smtp-source)")
    out.append(f"- Repetitions: {reps}")
    out.append("")
    out.append("## Targets (issues 7 and 14)")
    out.append("")
    rows = targets(table, servers)
    if rows:
        out.append("| target | this run | wanted | met |")
        out.append("|---|---|---|---|")
        for name, value, wanted, met in rows:
            out.append(f"| {name} | {value} | {wanted} | {met} |")
    else:
        out.append("Not enough workloads or servers in this run to compute the target ratios.")
    out.append("")
    out.append("## Results")
    out.append("")
    out.append("Each cell: median of the repetitions, then (min–max).")
    out.append("")
    for w in workloads:
        workload_table(w, servers, runs_by_key, table, out)
    problems = [r for r in runs if r["status"] not in ("ok", "skipped")]
    if problems:
        out.append("### Runs with problems")
        out.append("")
        for r in problems:
            samples = (r.get("loadgen") or {}).get("error_samples") or []
            detail = f": {'; '.join(samples[:3])}" if samples else ""
            out.append(f"- {r['workload']} {SERVERS[r['server']]} rep {r['rep']}: {r['status']}"
                       f"{' (' + r['note'] + ')' if r['note'] else ''}{detail}")
        out.append("")
    out.append(SETUP)
    out.append(HOW_TO_READ)
    analysis = os.path.join(os.path.dirname(os.path.abspath(__file__)), "analysis.md")
    if os.path.exists(analysis):
        with open(analysis, encoding="utf-8") as f:
            out.append(f.read().rstrip("\n"))
    return "\n".join(out) + "\n"


SETUP = """## Setup

`bench/run` installs what is missing (`postfix` for `smtp-sink`/`smtp-source`, never starting the Postfix daemon;
`python3-aiosmtpd`, `nodejs`/`npm`, `openssl`, `iproute2`; `smtp-server` 3.21.6 with npm into `bench/peers/node`),
builds the sinks and the generator in Release, makes a throw-away certificate for STARTTLS, and runs every workload
against every server. To iterate: `bench/run --quick` (counts × 0.1, one repetition), `--workloads W2,W2-pipe`,
`--servers smtpd,smtp-sink`, `--reps N`, `--scale F`; `bench/run --help` lists everything. Reduced runs write only
to `bench/results/<date-time>/` unless `--docs` is given. The micro-benchmarks (parser, DATA scanner, reply writer,
secret comparison, whole in-memory sessions; allocations per command) are separate: `bench/micro` writes
[micro-benchmarks.md](micro-benchmarks.md).

| server | what runs | settings |
|---|---|---|
| Smtpd | `bench/Smtpd.Sink` (public API only) | AUTH disabled, no reverse DNS, no greeting pause, no size or recipient limit; the DATA handler copies the stream to `Stream.Null`; STARTTLS with `--cert/--key`. `UnsafePreferInlineScheduling` on (its handler never blocks), as in the server program. No runtime settings from the environment; the sink's project file ships a gen0 budget of at most 2 MiB (`System.GC.Gen0MaxBudget`, as the server program's) and invariant globalization; otherwise the runtime's defaults (tiered compilation with dynamic PGO, workstation concurrent GC) |
| Smtpd, default scheduling | the same sink with `--thread-pool`: the library's default scheduling (socket continuations on the thread pool) | shown for reference; the targets are checked against the row above |
| Postfix smtp-sink | `/usr/sbin/smtp-sink -4 -a -C -F -h localhost -m 8192 127.0.0.1:PORT 4096` | no AUTH, XCLIENT, XFORWARD; no STARTTLS (no W4 figure) |
| nodemailer smtp-server | `bench/peers/node/sink.js` | `authOptional`, `disabledCommands: ['AUTH']`, `disableReverseLookup`, `logger: false`; its 100 ms greeting pause is built in |
| SmtpServer (NuGet) | `bench/peers/SmtpServerSink` | no authentication; the message store walks the buffered message and discards it; invariant globalization, otherwise the runtime's defaults (no gen0 budget: none ships with the package) |
| aiosmtpd | `/usr/bin/python3 bench/peers/aiosmtpd_sink.py` | fixed host name (no `getfqdn()` per connection), no size limit, no AUTH |
| Smtpd.Server, folder store (W7) | `src/Smtpd.Server` as shipped: `--listen 127.0.0.1:PORT --store DIR` | every other setting at its default; a message gets its 250 once its `.eml` and `.json` and their directory entries are on disk (group commit: one `syncfs` and one folder `fsync` per batch of concurrent messages) |
| Smtpd.Server, JetStream (W7) | the same with `--store nats://127.0.0.1:PORT` and one local `nats-server` (JetStream, `max_payload` 32 MiB) | the program creates the stream (1 replica, work-queue retention, nobody consumes during the run); 250 after the stream's acknowledgement. nats-server 2.9 acknowledges before its periodic flush to disk, so this row is durable by replication only once the stream has 3 replicas; its CPU includes nats-server's |
| Postfix smtpd into its queue (W7) | `bench/peers/postfix-queue`: a private `master` with its own `main.cf`, `master.cf` and queue under the results folder, smtpd on the loopback port only, `default_transport = discard` | Postfix's defaults otherwise: smtpd hands each message to `cleanup`, which writes and `fsync`s the queue file before smtpd answers 250; `qmgr` then hands it to `discard`, which deletes it. CPU: `master` and its children at the end of the run |

Each run starts a fresh server process, warms it up with 8 s of the same load (not measured; long enough for the .NET
servers' tiered compilation to settle: on the sink the CPU per message stops falling after 3 to 5 s of load, and the
tiering thread's last samples come 6 s into a continuous load; W5, which measures memory, warms up with 200 messages
and W7, bound by the disk, with 1,000),
then measures with `bench/Smtpd.LoadGen` (or `smtp-source` for W2-src and W7). No server gets runtime settings from
the environment. The generator, which is not measured as a server, turns on the runtime's inline socket completions
for its own process (the runtime's environment switch for it, set in `Program.cs` before its first socket;
`--thread-pool-completions` turns it off), the same against every server. A W7 run first waits 30 s: ext4 does not reuse an
inode within 30 s of its deletion and scans past such inodes when it creates a file, so a run right after another
that deleted files (Postfix's queue) would pay for them. The servers are interleaved and their order is rotated per
repetition and workload.
"""


HOW_TO_READ = """## How to read it

- **msg/s**: messages accepted (final `250`) per second of the measured phase. With reused connections the phase
  starts once every connection has been greeted and said EHLO, so a server's greeting pause does not count; in W6
  it is all inside the phase. **MB/s**: message bytes (10^6 bytes) per second; for smtp-source, its 4,096 payload
  bytes per message.
- **server CPU µs/msg**: user + system CPU time of the server process (from `/proc/PID/stat`) over the measured
  run, divided by the messages. It excludes the warm-up and includes connection set-up. A server that uses more
  than one core shows more CPU time than wall time.
- **peak RSS**: the server's VmHWM at the end of the run (warm-up included).
- **p50/p99**: latency of one transaction as the generator sees it: MAIL to the final `250` on a reused
  connection; connect to the final `250` in W6 (greeting p50: connect to the `220`). smtp-source reports none.
- **generator CPU µs/msg**: what the client spent, to check that the generator was not the bottleneck (the client
  and the server share the machine's cores).
- **W5**: KiB per idle connection = (server VmRSS with the connections open − VmRSS before) ÷ connections, sampled
  1.5 s after the last connection said EHLO; "dropped" counts connections the server closed during the 3 s hold.
- **Peers**: Postfix `smtp-sink` (C; no STARTTLS, so W4 has no figure for it); nodemailer `smtp-server` (its
  100 ms greeting pause cannot be switched off, which bounds its W6 rate); `SmtpServer` (NuGet; buffers every
  whole message before the handler runs); `aiosmtpd` (asyncio; buffers every whole message). Smtpd streams the
  message to the handler, which copies it to `Stream.Null`.
- Raw data: `bench/results/<date-time>/runs.jsonl` (one JSON object per run, with the generator's own JSON),
  server logs under `logs/`.
"""


def main():
    parser = argparse.ArgumentParser(description="Markdown report of a bench/run results folder")
    parser.add_argument("results")
    parser.add_argument("--docs", help="also write the report to this path")
    args = parser.parse_args()
    runs, machine = load(args.results)
    text = render(runs, machine)
    with open(os.path.join(args.results, "benchmarks.md"), "w", encoding="utf-8") as f:
        f.write(text)
    if args.docs:
        os.makedirs(os.path.dirname(args.docs), exist_ok=True)
        with open(args.docs, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
