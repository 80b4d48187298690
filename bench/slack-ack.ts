/**
 * Slack acknowledgement: bursts of 100 concurrent signed `/wmi hunt <host>` slash commands over
 * loopback to the real Slack HTTP receiver (src/slack createSlackApp, mode http), served as the
 * service serves it (its `listenerAhead` in front of the receiver's express app), whose engine is the
 * real HuntEngine on a throw-away redis-server (AOF everysec, noeviction); its Web API calls go to
 * the fake Slack (test/support/fake-slack.ts). The receiver runs in its own process, so the load
 * generator's work does not sit on the receiver's event loop.
 *
 * The load generator is kept lean so that the floor shows the machine rather than the client: every
 * request of a burst is signed as Slack signs it (test/support/slack-signing.ts) and serialized to
 * its HTTP/1.1 bytes before the burst starts; each goes out on its own fresh node:net connection
 * (`Connection: close`, as Slack opens one per request). Time to acknowledgement runs from writing
 * those bytes on the just-established connection until the status line, headers and whole body have
 * been read (Content-Length or chunked); the response is parsed only after the clock stops. The TCP
 * handshake itself is outside the clock (the server's accept is not: it interleaves with the
 * burst's other requests).
 *
 * Every ack must say the hunt was queued, and afterwards the queue in Redis must hold exactly one
 * host job per ack. The first burst (cold JIT, connections to Redis warming) is reported apart. The
 * same bursts are first sent to a bare node:http server (the floor), so the receiver's own share can
 * be told from the machine's, and then to the yardstick: a plain Bolt app whose `/wmi`
 * handler adds one BullMQ job before it acknowledges, on the same Redis. Each server's CPU time per
 * request in the later bursts (user + system, from /proc, 10 ms ticks, the post-ack work and the
 * pauses between bursts included) is reported too: on a machine shared with other benchmarks it
 * drifts much less than latency does. It is given twice: for the whole process (V8's compiler and
 * GC helper threads included) and for its main thread alone, the event loop that serves every
 * request of a burst one after the other, which is what a burst's last acknowledgement waits for.
 *
 *   npx tsx bench/slack-ack.ts        (SLACK_ACK_BURSTS=6  SLACK_ACK_BURST_SIZE=100)
 *   SLACK_ACK_RECEIVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npx tsx bench/slack-ack.ts   (profile the receiver)
 *   SLACK_ACK_JIT=1 SLACK_ACK_BURSTS=40 npx tsx bench/slack-ack.ts   (V8's optimizing compiles per burst)
 *
 * With SLACK_ACK_JIT=1 every server runs with V8's `--trace-opt`, and the result gains `jit`: per
 * burst (the burst and the pause after it), how many functions TurboFan compiled and the ms it took,
 * most of it on V8's helper threads, which share the two cores with the event loop, Redis and the
 * load generator. Tracing slows the servers a little: read its latencies apart from the standard run.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
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
  /** CPU the receiver process used per request in the later bursts (from /proc; 10 ms ticks). */
  receiverCpuMsPerRequest: number;
  floorCpuMsPerRequest: number;
  /** The same for the process's main thread alone (its event loop). */
  receiverLoopCpuMsPerRequest: number;
  floorLoopCpuMsPerRequest: number;
  /**
   * The same bursts to a plain Bolt app (its own HTTP receiver) whose `/wmi` handler adds one BullMQ
   * job and then acknowledges: what the service is measured against in the issue (85–110 ms there).
   */
  plainBolt: { firstBurst: AckStats; laterBursts: AckStats; perBurst: AckStats[]; cpuMsPerRequest: number; loopCpuMsPerRequest: number; queuedAcks: number; jobsInRedis: number };
  queuedAcks: number;
  hostJobsInRedis: number;
  /**
   * Under SLACK_ACK_JIT only: TurboFan's compiles while each server started (until it listened, and
   * the receiver loaded its engine) and per burst (the burst and the pause after it).
   */
  jit?: { receiver: JitCompiles; floor: JitCompiles; plainBolt: JitCompiles };
  redisVersion: string;
  target: { p99MsAtMost: number; met: boolean };
}

export interface JitCompiles {
  startup: { compiles: number; ms: number };
  perBurst: Array<{ compiles: number; ms: number }>;
}

function stats(values: number[]): AckStats {
  return { requests: values.length, p50Ms: round(percentile(values, 50), 1), p99Ms: round(percentile(values, 99), 1), maxMs: round(Math.max(...values), 1) };
}

/** The bursts after the first together (the first alone when it is the only one). */
function laterBurstStats(perBurst: number[][]): AckStats {
  return stats(perBurst.length > 1 ? perBurst.slice(1).flat() : perBurst[0]!);
}

interface Ack {
  ms: number;
  status: number;
  text: string;
}

/**
 * The whole request as Slack would send it, signed and serialized before the clock starts, so the
 * measurement holds no client-side signing, header building or HTTP client machinery.
 */
function slashCommandBytes(url: URL, host: string): Buffer {
  const signed = buildSignedRequest(slashCommandBody({ text: `hunt ${host}`, triggerId: `trigger-${host}` }));
  const head = [
    `POST ${url.pathname} HTTP/1.1`,
    `Host: ${url.host}`,
    `Content-Type: ${signed.contentType}`,
    `Content-Length: ${Buffer.byteLength(signed.body)}`,
    `X-Slack-Request-Timestamp: ${signed.timestamp}`,
    `X-Slack-Signature: ${signed.signature}`,
    'Connection: close',
  ].join('\r\n');
  return Buffer.from(`${head}\r\n\r\n${signed.body}`, 'utf8');
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Bytes of a complete response (head + body) once `received` holds one, else null. */
function completeResponseLength(received: Buffer): number | null {
  const headEnd = received.indexOf(HEAD_END);
  if (headEnd < 0) return null;
  const head = received.subarray(0, headEnd).toString('latin1');
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) {
    const total = headEnd + HEAD_END.length + Number(length[1]);
    return received.length >= total ? total : null;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const last = received.indexOf('\r\n0\r\n\r\n', headEnd);
    return last < 0 ? null : last + 7;
  }
  return null;
}

function parseResponse(raw: Buffer): { status: number; text: string } {
  const headEnd = raw.indexOf(HEAD_END);
  const head = raw.subarray(0, headEnd).toString('latin1');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  let body = raw.subarray(headEnd + HEAD_END.length);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (!(size > 0)) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status, text: body.toString('utf8') };
}

/**
 * One request on its own fresh TCP connection. The clock starts when the request bytes are written
 * on the established connection and stops as soon as the status line, headers and whole body have
 * been read; the response is parsed only after that.
 */
function sendOnFreshConnection(url: URL, bytes: Buffer): Promise<Ack> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true });
    let began = 0n;
    let received: Buffer = Buffer.alloc(0);
    socket.once('connect', () => {
      began = process.hrtime.bigint();
      socket.write(bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const length = completeResponseLength(received);
      if (length === null) return;
      const ms = Number(process.hrtime.bigint() - began) / 1e6;
      socket.destroy();
      resolve({ ms, ...parseResponse(received.subarray(0, length)) });
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`the connection closed before a whole response (${received.length} bytes read)`)));
  });
}

interface ServerChild {
  url: URL;
  /** CPU time (user + system) the process has used so far, from /proc (Linux), in ms. */
  cpuMs(): number;
  /** The same for its main thread (the event loop). */
  loopCpuMs(): number;
  /** TurboFan compiles finished so far and the ms they took (counted only under SLACK_ACK_JIT). */
  jit: { compiles: number; ms: number };
  stop(): Promise<void>;
}

async function startServerChild(args: string[], traceJit: boolean): Promise<ServerChild> {
  const nodeArgs = (process.env.SLACK_ACK_RECEIVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  if (traceJit) nodeArgs.push('--trace-opt');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', SELF, ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    await exited;
  };
  try {
    const jit = { compiles: 0, ms: 0 };
    const url = await new Promise<URL>((resolve, reject) => {
      // V8's traces (node flags above) share stdout with the URL line the server prints.
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const compiled = TURBOFAN_COMPILED.exec(line);
        if (compiled) {
          jit.compiles += 1;
          jit.ms += Number(compiled[1]) + Number(compiled[2]) + Number(compiled[3]);
        } else if (line.startsWith('http://')) resolve(new URL(line.trim()));
      });
      child.once('exit', (code) => reject(new Error(`the server process (${args[0]}) exited with ${code} before listening`)));
    });
    return { url, stop, jit, cpuMs: () => processCpuMs(`/proc/${child.pid!}/stat`), loopCpuMs: () => processCpuMs(`/proc/${child.pid!}/task/${child.pid!}/stat`) };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/** `--trace-opt`'s line for a finished compile: its three phases (prepare, execute, finalize) in ms. */
const TURBOFAN_COMPILED = /^\[completed compiling .*\(target TURBOFAN\) - took ([\d.]+), ([\d.]+), ([\d.]+) ms\]/;

/**
 * utime + stime in ms, fields 14 and 15 of /proc/<pid>/stat (the process) or /proc/<pid>/task/<tid>/stat
 * (one thread), in clock ticks of 10 ms (NaN without /proc).
 */
function processCpuMs(statPath: string): number {
  let stat: string;
  try {
    stat = readFileSync(statPath, 'utf8');
  } catch {
    return Number.NaN;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The server's CPU per request over the bursts after the first (the pause after each burst included). */
async function sendBursts(
  server: ServerChild,
  bursts: number,
  burstSize: number,
  tag: string,
): Promise<{ perBurst: number[][]; acks: Ack[]; laterCpuMsPerRequest: number; laterLoopCpuMsPerRequest: number; jit: JitCompiles }> {
  const { url } = server;
  let cpuAfterFirst = server.cpuMs();
  let loopCpuAfterFirst = server.loopCpuMs();
  const perBurst: number[][] = [];
  const all: Ack[] = [];
  const jit: JitCompiles = { startup: { compiles: server.jit.compiles, ms: round(server.jit.ms, 1) }, perBurst: [] };
  for (let burst = 0; burst < bursts; burst += 1) {
    const jitBefore = { ...server.jit };
    const requests = Array.from({ length: burstSize }, (_, index) => slashCommandBytes(url, `${tag}-${burst}-${index}`));
    const acks = await Promise.all(requests.map((bytes) => sendOnFreshConnection(url, bytes)));
    for (const ack of acks) {
      if (ack.status !== 200) throw new Error(`the receiver answered ${ack.status}: ${ack.text.slice(0, 300)}`);
    }
    all.push(...acks);
    perBurst.push(acks.map((ack) => ack.ms));
    await new Promise((resolve) => setTimeout(resolve, 300));
    jit.perBurst.push({ compiles: server.jit.compiles - jitBefore.compiles, ms: round(server.jit.ms - jitBefore.ms, 1) });
    if (burst === 0) {
      cpuAfterFirst = server.cpuMs();
      loopCpuAfterFirst = server.loopCpuMs();
    }
  }
  const laterRequests = Math.max(1, (bursts - 1) * burstSize);
  return {
    perBurst,
    acks: all,
    laterCpuMsPerRequest: round((server.cpuMs() - cpuAfterFirst) / laterRequests, 3),
    laterLoopCpuMsPerRequest: round((server.loopCpuMs() - loopCpuAfterFirst) / laterRequests, 3),
    jit,
  };
}

export async function runSlackAckBench(options: { bursts?: number; burstSize?: number; traceJit?: boolean } = {}): Promise<SlackAckBenchResult> {
  const bursts = options.bursts ?? Number(process.env.SLACK_ACK_BURSTS ?? 6);
  const traceJit = options.traceJit ?? Boolean(process.env.SLACK_ACK_JIT);
  const burstSize = options.burstSize ?? Number(process.env.SLACK_ACK_BURST_SIZE ?? 100);
  const redis = await startRedis();
  const evidenceDir = await mkdtemp(join(tmpdir(), 'wmi-hunter-bench-slack-'));
  const prefix = 'bench-slack';
  const children: ServerChild[] = [];
  try {
    const floorServer = await startServerChild(['--serve-floor'], traceJit);
    children.push(floorServer);
    const floor = await sendBursts(floorServer, bursts, burstSize, 'floor');
    await floorServer.stop();

    const plainBoltServer = await startServerChild(['--serve-plain-bolt', redis.url, prefix], traceJit);
    children.push(plainBoltServer);
    const plain = await sendBursts(plainBoltServer, bursts, burstSize, 'plain');
    await plainBoltServer.stop();

    const receiver = await startServerChild(['--serve', redis.url, prefix, evidenceDir], traceJit);
    children.push(receiver);
    const { perBurst, acks, laterCpuMsPerRequest, laterLoopCpuMsPerRequest, jit } = await sendBursts(receiver, bursts, burstSize, 'ack');
    const queuedAcks = acks.filter((ack) => /hunt \*TH-WMI-\d{8}-\d+\* queued/.test(ack.text)).length;
    const check = new Redis(redis.url);
    const hostJobsInRedis = (await check.zcard(`${prefix}:q:hunt:prioritized`)) + (await check.llen(`${prefix}:q:hunt:wait`));
    const plainJobsInRedis = await check.llen(`${prefix}:${PLAIN_BOLT_QUEUE}:wait`);
    check.disconnect();
    const laterStats = laterBurstStats(perBurst);
    const floorLater = laterBurstStats(floor.perBurst);
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
      receiverCpuMsPerRequest: laterCpuMsPerRequest,
      floorCpuMsPerRequest: floor.laterCpuMsPerRequest,
      receiverLoopCpuMsPerRequest: laterLoopCpuMsPerRequest,
      floorLoopCpuMsPerRequest: floor.laterLoopCpuMsPerRequest,
      plainBolt: {
        firstBurst: stats(plain.perBurst[0]!),
        laterBursts: laterBurstStats(plain.perBurst),
        perBurst: plain.perBurst.map(stats),
        cpuMsPerRequest: plain.laterCpuMsPerRequest,
        loopCpuMsPerRequest: plain.laterLoopCpuMsPerRequest,
        queuedAcks: plain.acks.filter((ack) => /^\{"response_type":"ephemeral","text":"hunt \*\d+\* queued"/.test(ack.text)).length,
        jobsInRedis: plainJobsInRedis,
      },
      queuedAcks,
      hostJobsInRedis,
      redisVersion: redis.version,
      ...(traceJit ? { jit: { receiver: jit, floor: floor.jit, plainBolt: plain.jit } } : {}),
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
  await serveUntilStdinCloses(server);
}

/** Listens on loopback, prints the events URL for the parent, and closes when stdin closes. */
async function serveUntilStdinCloses(server: import('node:http').Server): Promise<void> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  announce(server);
  await untilStdinCloses();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Prints the events URL of a listening server for the parent. */
function announce(server: import('node:http').Server): void {
  const address = server.address() as import('node:net').AddressInfo;
  process.stdout.write(`http://127.0.0.1:${address.port}/slack/events\n`);
}

const PLAIN_BOLT_QUEUE = 'plain-bolt-hunt';

/**
 * The yardstick: a plain Bolt app on its default HTTP receiver, in its own process, whose
 * `/wmi` handler adds one BullMQ job and then acknowledges with the job's id (or says it was not
 * queued). No replay guard, no hunt record, no audit entry: only what such a handler does.
 */
async function servePlainBolt(redisUrl: string, prefix: string): Promise<void> {
  const [{ App, LogLevel }, { Queue }, { startFakeSlack }, { TEST_SIGNING_SECRET }] = await Promise.all([
    import('@slack/bolt'),
    import('bullmq'),
    import('../test/support/fake-slack.js'),
    import('../test/support/slack-signing.js'),
  ]);
  const fake = await startFakeSlack();
  const queue = new Queue(PLAIN_BOLT_QUEUE, { connection: { url: redisUrl, maxRetriesPerRequest: null }, prefix });
  const app = new App({ token: 'xoxb-bench-not-a-real-token', signingSecret: TEST_SIGNING_SECRET, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: fake.apiUrl } });
  app.command('/wmi', async ({ command, ack }) => {
    try {
      const job = await queue.add('host', { host: command.text.trim().split(/\s+/)[1] ?? '', user: command.user_id, channel: command.channel_id });
      await ack({ response_type: 'ephemeral', text: `hunt *${job.id}* queued` });
    } catch (error) {
      await ack({ response_type: 'ephemeral', text: `hunt *not* queued: ${(error as Error).message}` });
    }
  });
  announce((await app.start(0)) as import('node:http').Server);
  await untilStdinCloses();
  await app.stop();
  await queue.close();
  await fake.stop();
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
  // Served as the service serves it (src/app/service.ts): the hunt commands ahead of express, the rest through it.
  const { createServer } = await import('node:http');
  const server = createServer(slack.listenerAhead!(slack.expressApp!));
  await serveUntilStdinCloses(server);
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
  } else if (flag === '--serve-plain-bolt') {
    await servePlainBolt(redisUrl!, prefix!);
    process.exit(0);
  } else if (flag === '--serve-floor') {
    await serveFloor();
    process.exit(0);
  } else {
    const result = await runSlackAckBench();
    emitResult(result);
  }
}
