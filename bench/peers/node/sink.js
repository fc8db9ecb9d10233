'use strict';
// nodemailer smtp-server as a discard sink for bench/run: accepts every sender and recipient, reads each message
// to its end and discards it; STARTTLS with --cert/--key. The 100 ms greeting pause is built into smtp-server and
// has no option. Usage: node sink.js --port N [--cert PEM-FILE --key PEM-FILE]
const fs = require('fs');
const { SMTPServer } = require('smtp-server');

const args = process.argv.slice(2);
const value = name => {
    const i = args.indexOf(name);
    return i >= 0 && i + 1 < args.length ? args[i + 1] : undefined;
};
const port = Number(value('--port'));
const certFile = value('--cert');
const keyFile = value('--key');
if (!Number.isInteger(port) || port <= 0 || port > 65535 || !certFile !== !keyFile) {
    console.error('usage: node sink.js --port N [--cert PEM-FILE --key PEM-FILE]');
    process.exit(2);
}

const options = {
    name: 'localhost',
    logger: false,
    authOptional: true,
    disabledCommands: ['AUTH'],
    disableReverseLookup: true,
    socketTimeout: 5 * 60 * 1000,
    closeTimeout: 1000,
    onData(stream, session, callback) {
        stream.on('data', () => {});
        stream.on('end', () => callback());
    }
};
if (certFile) {
    options.cert = fs.readFileSync(certFile);
    options.key = fs.readFileSync(keyFile);
} else {
    options.disabledCommands.push('STARTTLS');
}

const server = new SMTPServer(options);
server.on('error', err => console.error('smtp-server error: ' + err.message));
server.listen(port, '127.0.0.1', () => console.error(`smtp-server sink listening on 127.0.0.1:${port} (pid ${process.pid})`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
