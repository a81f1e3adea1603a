import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The project's nats-server configuration, with the partition mapping (docs/scaling.md) and its users. */
export const NATS_CONFIG = join(ROOT, 'docs/nats-server.conf');
/** fencewire's password on a private server with the project's configuration. */
const FENCEWIRE_PASSWORD = 'private-test-password';

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

async function listening(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function natsBinary(): string {
  for (const candidate of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) if (existsSync(candidate)) return candidate;
  return 'nats-server';
}

/**
 * A nats-server of the test's own, on a free port with its own store directory, optionally with
 * the project's configuration file: fault tests kill and restart it without touching the
 * machine's NATS.
 */
export class PrivateNats {
  private child: ChildProcess | null = null;
  private constructor(readonly port: number, private readonly storeDir: string, private readonly config: string | null) {}

  static async start(options: { config?: string | null } = {}): Promise<PrivateNats> {
    const nats = new PrivateNats(await freePort(), mkdtempSync(join(tmpdir(), 'fw-nats-')), options.config === undefined ? NATS_CONFIG : options.config);
    await nats.restart();
    return nats;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** What a fencewire process needs to reach this server: its URL and, where its configuration has users, fencewire's. */
  get env(): Record<string, string> {
    const users = this.config !== null && readFileSync(this.config, 'utf8').includes('$FENCEWIRE_NATS_PASSWORD');
    return { NATS_URL: this.url, ...(users ? { NATS_USER: 'fencewire', NATS_PASSWORD: FENCEWIRE_PASSWORD } : {}) };
  }

  /** The server's process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async restart(): Promise<void> {
    const args = [...(this.config ? ['-c', this.config] : []), '-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir];
    const child = spawn(natsBinary(), args, { stdio: 'ignore', env: { ...process.env, FENCEWIRE_NATS_PASSWORD: FENCEWIRE_PASSWORD } });
    const reap = () => child.kill('SIGKILL');
    process.once('exit', reap);
    child.once('exit', () => process.removeListener('exit', reap));
    this.child = child;
    await listening(this.port);
  }

  /** kill -9: no goodbye to clients, JetStream recovers its store at the next start. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === null || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.storeDir, { recursive: true, force: true });
  }
}

function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  if (version === undefined) throw new Error(`no PostgreSQL under ${root}`);
  return join(root, version, 'bin');
}

/**
 * A PostgreSQL cluster of the test's own (initdb in a temporary directory, trust authentication,
 * loopback on a free port) that a test can stop hard and start again. As root, the cluster
 * belongs to the postgres OS user, as initdb requires.
 */
export class PrivatePostgres {
  private constructor(readonly port: number, private readonly dataDir: string, private readonly asUser: string[]) {}

  static async start(): Promise<PrivatePostgres> {
    const dataDir = mkdtempSync(join(tmpdir(), 'fw-pg-'));
    const root = process.getuid?.() === 0;
    const asUser = root ? ['runuser', '-u', 'postgres', '--'] : [];
    if (root) spawnSync('chown', ['postgres', dataDir]);
    const pg = new PrivatePostgres(await freePort(), dataDir, asUser);
    pg.run('initdb', ['-D', dataDir, '-A', 'trust', '-U', 'postgres']);
    await pg.startServer();
    return pg;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}`;
  }

  private run(tool: string, args: string[]): void {
    const [command, ...prefix] = [...this.asUser, join(postgresBinDir(), tool)];
    const result = spawnSync(command as string, [...prefix, ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${tool} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  }

  async startServer(): Promise<void> {
    this.run('pg_ctl', ['-D', this.dataDir, '-l', join(this.dataDir, 'server.log'), '-w', '-o', `-h 127.0.0.1 -p ${this.port} -k ${this.dataDir} -c fsync=off`, 'start']);
    await listening(this.port);
  }

  /** `pg_ctl stop -m immediate`: every connection cut, recovery from the WAL at the next start. */
  stopImmediately(): void {
    this.run('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']);
  }

  dispose(): void {
    try {
      this.stopImmediately();
    } catch {
      // Already stopped.
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
