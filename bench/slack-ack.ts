/**
 * Slack acknowledgement: bursts of 100 concurrent signed `/wmi hunt <host>` slash commands over
 * loopback to the real Bolt HTTP receiver (src/slack createSlackApp, mode http), whose engine is the
 * real HuntEngine on a throw-away redis-server (AOF everysec, noeviction); its Web API calls go to
 * the fake Slack (test/support/fake-slack.ts). The receiver runs in its own process, so the load
 * generator's work does not sit on the receiver's event loop. Each request is signed as Slack signs
 * it (test/support/slack-signing.ts) and opens its own connection, as Slack's do.
 *
 * Time to acknowledgement = from writing the request to reading the whole response. Every ack must
 * say the hunt was queued, and afterwards the queue in Redis must hold exactly one host job per ack.
 * The first burst (cold JIT, connections to Redis warming) is reported apart. The same bursts are first
 * sent to a bare node:http server (the floor), so the receiver's own share can be told from the
 * machine's.
 *
 *   npx tsx bench/slack-ack.ts        (SLACK_ACK_BURSTS=6  SLACK_ACK_BURST_SIZE=100)
 *   SLACK_ACK_RECEIVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npx tsx bench/slack-ack.ts   (profile the receiver)
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { emitResult, isEntryPoint, REPO_ROOT } from './support/child.js';
import { startRedis } from './support/redis-server.js';
import { percentile, round } from './support/stats.js';
import { buildSignedRequest, slashCommandBody } from '../test/support/slack-signing.js';

const SELF = fileURLToPath(import.meta.url);

export interface AckStats {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface SlackAckBenchResult {
  burstSize: number;
  bursts: number;
  firstBurst: AckStats;
  laterBursts: AckStats;
  perBurst: AckStats[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The same client against a bare node:http server that answers at once: the machine's floor. */
  floorLaterBursts: AckStats;
  queuedAcks: number;
  hostJobsInRedis: number;
  redisVersion: string;
  target: { p99MsAtMost: number; met: boolean };
}

function stats(values: number[]): AckStats {
  return { requests: values.length, p50Ms: round(percentile(values, 50), 1), p99Ms: round(percentile(values, 99), 1), maxMs: round(Math.max(...values), 1) };
}

interface Ack {
  ms: number;
  status: number;
  text: string;
}

function postSlashCommand(url: URL, host: string): Promise<Ack> {
  const signed = buildSignedRequest(slashCommandBody({ text: `hunt ${host}`, triggerId: `trigger-${host}` }));
  return new Promise((resolve, reject) => {
    const began = process.hrtime.bigint();
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': signed.contentType,
          'content-length': Buffer.byteLength(signed.body),
          'x-slack-request-timestamp': String(signed.timestamp),
          'x-slack-signature': signed.signature,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - began) / 1e6, status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(signed.body);
  });
}

interface ServerChild {
  url: URL;
  stop(): Promise<void>;
}

async function startServerChild(args: string[]): Promise<ServerChild> {
  const nodeArgs = (process.env.SLACK_ACK_RECEIVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', SELF, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    await exited;
  };
  try {
    const url = await new Promise<URL>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(new URL(line.trim())));
      child.once('exit', (code) => reject(new Error(`the server process (${args[0]}) exited with ${code} before listening`)));
    });
    return { url, stop };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

async function sendBursts(url: URL, bursts: number, burstSize: number, tag: string): Promise<{ perBurst: number[][]; acks: Ack[] }> {
  const perBurst: number[][] = [];
  const all: Ack[] = [];
  for (let burst = 0; burst < bursts; burst += 1) {
    const hosts = Array.from({ length: burstSize }, (_, index) => `${tag}-${burst}-${index}`);
    const acks = await Promise.all(hosts.map((host) => postSlashCommand(url, host)));
    for (const ack of acks) {
      if (ack.status !== 200) throw new Error(`the receiver answered ${ack.status}: ${ack.text.slice(0, 300)}`);
    }
    all.push(...acks);
    perBurst.push(acks.map((ack) => ack.ms));
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return { perBurst, acks: all };
}

export async function runSlackAckBench(options: { bursts?: number; burstSize?: number } = {}): Promise<SlackAckBenchResult> {
  const bursts = options.bursts ?? Number(process.env.SLACK_ACK_BURSTS ?? 6);
  const burstSize = options.burstSize ?? Number(process.env.SLACK_ACK_BURST_SIZE ?? 100);
  const redis = await startRedis();
  const evidenceDir = await mkdtemp(join(tmpdir(), 'wmi-hunter-bench-slack-'));
  const prefix = 'bench-slack';
  const children: ServerChild[] = [];
  try {
    const floorServer = await startServerChild(['--serve-floor']);
    children.push(floorServer);
    const floor = await sendBursts(floorServer.url, bursts, burstSize, 'floor');
    await floorServer.stop();

    const receiver = await startServerChild(['--serve', redis.url, prefix, evidenceDir]);
    children.push(receiver);
    const { perBurst, acks } = await sendBursts(receiver.url, bursts, burstSize, 'ack');
    const queuedAcks = acks.filter((ack) => /hunt \*TH-WMI-\d{8}-\d+\* queued/.test(ack.text)).length;
    const check = new Redis(redis.url);
    const hostJobsInRedis = (await check.zcard(`${prefix}:q:hunt:prioritized`)) + (await check.llen(`${prefix}:q:hunt:wait`));
    check.disconnect();
    const laterStats = stats(perBurst.length > 1 ? perBurst.slice(1).flat() : perBurst[0]!);
    const floorLater = stats(floor.perBurst.length > 1 ? floor.perBurst.slice(1).flat() : floor.perBurst[0]!);
    return {
      burstSize,
      bursts,
      firstBurst: stats(perBurst[0]!),
      laterBursts: laterStats,
      perBurst: perBurst.map(stats),
      p50Ms: laterStats.p50Ms,
      p99Ms: laterStats.p99Ms,
      maxMs: laterStats.maxMs,
      floorLaterBursts: floorLater,
      queuedAcks,
      hostJobsInRedis,
      redisVersion: redis.version,
      target: { p99MsAtMost: 50, met: laterStats.p99Ms <= 50 && queuedAcks === bursts * burstSize && hostJobsInRedis === queuedAcks },
    };
  } finally {
    for (const child of children) await child.stop();
    await redis.stop();
    await rm(evidenceDir, { recursive: true, force: true });
  }
}

/**
 * The floor: a bare node:http server in its own process that reads the body and answers 200 at once.
 * The same client against it shows what this machine's loopback, the client and 100 fresh
 * connections cost by themselves, so the receiver's own share can be read off.
 */
async function serveFloor(): Promise<void> {
  const { createServer } = await import('node:http');
  const server = createServer((incoming, outgoing) => {
    incoming.resume();
    incoming.on('end', () => outgoing.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"ok"}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address() as import('node:net').AddressInfo;
  process.stdout.write(`http://127.0.0.1:${address.port}/slack/events\n`);
  await untilStdinCloses();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function untilStdinCloses(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.stdin.on('end', resolve);
    process.stdin.on('close', resolve);
    process.stdin.resume();
  });
}

/** The receiver process: the real Slack app and engine on the given Redis; stops when stdin closes. */
async function serve(redisUrl: string, prefix: string, evidenceDir: string): Promise<void> {
  const [{ HuntEngine }, { PlaybookRegistry }, { createQueues, closeQueues }, { createStore }, { createRedis }, { createSlackApp }, { startFakeSlack }, { TEST_SIGNING_SECRET }] = await Promise.all([
    import('../src/app/hunt-engine.js'),
    import('../src/playbooks/playbook-registry.js'),
    import('../src/queue/queues.js'),
    import('../src/store/store.js'),
    import('../src/store/redis-connection.js'),
    import('../src/slack/slack-app.js'),
    import('../test/support/fake-slack.js'),
    import('../test/support/slack-signing.js'),
  ]);
  // The connection the service's serve role uses (src/app/service.ts).
  const redis = createRedis(redisUrl, 'client');
  const store = createStore(redis, { prefix, evidenceDir });
  const queues = createQueues({ url: redisUrl, maxRetriesPerRequest: null }, { prefix, attempts: 3, backoffMs: 5_000, backoffJitter: 0.5 });
  const playbooks = await PlaybookRegistry.load(join(REPO_ROOT, 'playbooks'));
  const engine = new HuntEngine({
    store,
    queues,
    playbooks,
    settings: { defaultPlaybook: 'wmi-persistence-hunt', lookbackHours: 24, maxEvents: 20_000, alertHostWindowSeconds: 3_600, approvalTtlMinutes: 240, notifications: true },
  });
  const fake = await startFakeSlack();
  const slack = await createSlackApp({
    engine,
    mode: 'http',
    redis,
    config: { botToken: 'xoxb-bench-not-a-real-token', signingSecret: TEST_SIGNING_SECRET, apiUrl: fake.apiUrl, keyPrefix: `${prefix}:slack` },
  });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const listening = slack.expressApp!.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const address = server.address() as import('node:net').AddressInfo;
  process.stdout.write(`http://127.0.0.1:${address.port}/slack/events\n`);
  await untilStdinCloses();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await slack.stop();
  await fake.stop();
  await closeQueues(queues);
  await redis.quit();
}

if (isEntryPoint(import.meta.url)) {
  const [flag, redisUrl, prefix, evidenceDir] = process.argv.slice(2);
  if (flag === '--serve') {
    await serve(redisUrl!, prefix!, evidenceDir!);
    process.exit(0);
  } else if (flag === '--serve-floor') {
    await serveFloor();
    process.exit(0);
  } else {
    const result = await runSlackAckBench();
    emitResult(result);
  }
}
