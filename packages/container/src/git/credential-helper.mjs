#!/usr/bin/env node
/**
 * The git credential helper of the Gastown container (plain JavaScript: git runs it with node,
 * outside the TypeScript loader). Only the container's own git runner names it, with
 * `-c credential.helper=!<node> <this file> <socket path> <rig id>`; git appends the action.
 *
 * It relays git's request to the container's credential server over a Unix socket in a root-only
 * directory and git's answer back (./credential-server.ts; wire format ./credential-protocol.ts,
 * whose HELPER_PROTOCOL this header must match). It holds nothing, writes no file, logs no value:
 * the token passes from the socket to git's stdin pipe and nowhere else.
 *
 * Usage: node credential-helper.mjs <socket path> <rig id> <get|store|erase>
 */
import { connect } from 'node:net';

const PROTOCOL = 'gastown-git-credential 1';
const MAX_BYTES = 64 * 1024;
const TIMEOUT_MS = 90_000;

const [socketPath, rigId, action] = process.argv.slice(2);

function finish(message) {
  if (message) process.stderr.write(`gastown credential helper: ${message}\n`);
  // exit 0 either way: a helper that cannot answer leaves git without a credential, and the
  // container's runner sees git's authentication failure
  process.exit(0);
}

function readStdin() {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    process.stdin.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BYTES) finish('request too large');
      chunks.push(chunk);
    });
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', () => resolve(''));
  });
}

function ask(request) {
  return new Promise((resolve) => {
    const chunks = [];
    let size = 0;
    const socket = connect(socketPath);
    socket.on('connect', () => socket.end(request));
    socket.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BYTES) finish('answer too large');
      chunks.push(chunk);
    });
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', (error) => finish(`cannot reach the container's credential server (${error.code ?? 'error'})`));
  });
}

async function main() {
  if (!socketPath || !rigId || !action) finish('usage: credential-helper.mjs <socket path> <rig id> <action>');
  setTimeout(() => finish('timed out'), TIMEOUT_MS);
  const input = await readStdin();
  // `store`: nothing to keep (the broker holds the token); anything else git may add: ignored
  if (action !== 'get' && action !== 'erase') finish();
  const answer = await ask(`${PROTOCOL} ${action} ${rigId}\n${input}`);
  if (action === 'get' && answer.length > 0) process.stdout.write(answer, () => finish());
  else finish();
}

void main();
