/**
 * A daemon at `ssh://[user@]host[:port][/socket]` (sshurl.ts), reached as docker's CLI reaches
 * one (its connhelper): each connection runs `ssh -o ConnectTimeout=30 -T [-l user] [-p port]
 * -- host berth [--host unix:///socket] system dial-stdio`, and the remote `berth` joins its
 * stdio to the daemon's socket. Options, keys and known hosts come from ssh's own configuration.
 *
 * The request code wants a real socket: the connection's end here is one side of a Unix socket
 * pair (made through an abstract-namespace listener), the other side forwarded to and from
 * ssh's stdio, so that a failed ssh (refused, unknown host, no `berth` there) ends the
 * connection with its status and its stderr rather than a bare end of file.
 */
import { spawn } from 'node:child_process';
import { createConnection, createServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { EngineError } from '../errdefs/index.ts';
import { sshArgs, type SshSpec } from './sshurl.ts';

/** A connected Unix socket pair: `near` for the request code, `far` to forward. */
function socketPair(): Promise<{ near: Socket; far: Socket }> {
  return new Promise((resolve, reject) => {
    // The far end stays writable when the near one half-closes (stdin's end, in `run -i`).
    const server = createServer({ allowHalfOpen: true });
    const path = `\0berth-ssh-${process.pid}-${randomBytes(6).toString('hex')}`;
    server.once('error', reject);
    let near: Socket;
    let far: Socket | undefined;
    let connected = false;
    const done = () => {
      if (!far || !connected) return;
      server.close();
      resolve({ near, far });
    };
    server.once('connection', (s) => {
      far = s;
      done();
    });
    server.listen(path, () => {
      near = createConnection({ path }, () => {
        connected = true;
        done();
      });
      near.once('error', reject);
    });
  });
}

export function sshDialer(sp: SshSpec): () => Promise<{ socket: Socket; ready: 'connected' }> {
  const args = sshArgs(sp);
  return async () => {
    const { near, far } = await socketPair();
    const child = spawn('ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s;
    });
    far.pipe(child.stdin);
    child.stdin.on('error', () => {});
    child.stdout.pipe(far, { end: false });
    far.on('error', () => child.kill());
    // The connection's user closed it: ssh goes too.
    far.on('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    });
    const failed = (why: string) => new EngineError('Unavailable',
      `error during connect: command [ssh ${args.join(' ')}] has exited with ${why}, make sure the URL is valid, and Berth is installed on the remote host: stderr=${stderr.trim()}`);
    child.once('error', (e) => near.destroy(failed(`an error: ${e.message}`)));
    child.once('close', (code, signal) => {
      // Its output is all written by now; a failure is said before the end of file is seen.
      if (code !== 0 && !near.destroyed && !far.destroyed) near.destroy(failed(signal ? `signal ${signal}` : `exit status ${code}`));
      far.end();
    });
    return { socket: near, ready: 'connected' };
  };
}
