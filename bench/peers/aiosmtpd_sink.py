"""aiosmtpd as a discard sink for bench/run.

Accepts every sender and recipient, receives each message in full (aiosmtpd reads the whole body before the
handler runs) and discards it; STARTTLS with --cert/--key. Run with the system interpreter:
    /usr/bin/python3 aiosmtpd_sink.py --port N [--cert PEM-FILE --key PEM-FILE]
"""
import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP


class DiscardHandler:
    """Accepts every message; aiosmtpd has already buffered it in envelope.content, which is dropped here."""

    async def handle_DATA(self, server, session, envelope):
        envelope.content = None
        envelope.original_content = None
        return "250 OK"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")

    # Per-connection log lines would dominate the profile of a sink.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    tls_context = None
    if args.cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    handler = DiscardHandler()

    def factory():
        # A fixed hostname avoids a getfqdn() lookup per connection; no size limit; no AUTH.
        return SMTP(handler, hostname="localhost", ident="aiosmtpd sink", data_size_limit=None,
                    enable_SMTPUTF8=True, tls_context=tls_context, require_starttls=False,
                    auth_require_tls=False, timeout=300, loop=loop)

    server = loop.run_until_complete(loop.create_server(factory, host="127.0.0.1", port=args.port, backlog=4096))
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    print(f"aiosmtpd sink listening on 127.0.0.1:{args.port} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
