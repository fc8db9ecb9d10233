// Sends one raw message with nodemailer's SMTP transport; used by NodemailerInteropTests.
// node send.js PORT TRANSPORT AUTH CAFILE MESSAGE SENDER RECIPIENT USER PASSWORD
'use strict';
const fs = require('fs');
const nodemailer = require('nodemailer');

const [port, transport, auth, caFile, messageFile, sender, recipient, user, pass] = process.argv.slice(2);
const smtp = nodemailer.createTransport({
  host: '127.0.0.1',
  port: Number(port),
  name: 'client.example',
  secure: transport === 'ImplicitTls',
  ignoreTLS: transport === 'Plain',
  requireTLS: transport === 'StartTls',
  tls: { ca: fs.readFileSync(caFile), servername: 'localhost', rejectUnauthorized: true },
  auth: auth === 'True' ? { user, pass } : undefined,
  connectionTimeout: 10000,
  greetingTimeout: 10000,
  socketTimeout: 10000,
});

smtp.sendMail({ envelope: { from: sender, to: [recipient] }, raw: fs.readFileSync(messageFile) })
  .then((info) => console.log('accepted', info.accepted.join(','), 'response', info.response))
  .catch((error) => {
    console.error('failed', error);
    process.exitCode = 1;
  });
