// A minimal SMTP server for the e2e stack (started by scripts/e2e.sh): accepts every message the worker sends and
// writes it to <dir>/<n>.eml, so mail has somewhere to go without an extra tool. Usage: smtp-sink.ts <port> <dir>
import { createServer, type Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const port = Number(process.argv[2]);
const dirArgument = process.argv[3];
if (!Number.isInteger(port) || !dirArgument) {
  throw new Error('usage: smtp-sink.ts <port> <dir>');
}
const dir: string = dirArgument;
mkdirSync(dir, { recursive: true });
let stored = 0;

function serve(socket: Socket): void {
  let buffer = '';
  let data: string[] | undefined;
  const reply = (line: string): void => {
    socket.write(`${line}\r\n`);
  };
  reply('220 cleancrm-e2e SMTP sink');
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (data) {
        if (line === '.') {
          stored++;
          writeFileSync(join(dir, `${String(stored).padStart(4, '0')}.eml`), data.join('\r\n'));
          data = undefined;
          reply('250 stored');
        } else {
          data.push(line.startsWith('..') ? line.slice(1) : line);
        }
        continue;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') {
        reply('250-cleancrm-e2e');
        reply('250 8BITMIME');
      } else if (verb === 'DATA') {
        data = [];
        reply('354 end with <CRLF>.<CRLF>');
      } else if (verb === 'QUIT') {
        reply('221 bye');
        socket.end();
      } else {
        reply('250 ok');
      }
    }
  });
  socket.on('error', () => socket.destroy());
}

createServer(serve).listen(port, '127.0.0.1');
