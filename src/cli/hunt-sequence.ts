import { mkdir, open, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatHuntId, huntDay } from '../domain/report/hunt-id.js';
import { CodedError, ErrorCode } from '../errors.js';

/**
 * The per-day hunt sequence for offline CLI use, kept as files: <state>/hunt-ids/<YYYYMMDD>/<NNN>.
 * A number is taken by creating its file exclusively (O_EXCL), which the file system makes atomic, so
 * two CLI runs at once never get the same hunt id. The service uses its own sequence in Redis.
 */
export function stateDirFrom(env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  if (env.WMI_HUNTER_STATE_DIR) return resolve(cwd, env.WMI_HUNTER_STATE_DIR);
  const base = env.XDG_STATE_HOME ? resolve(cwd, env.XDG_STATE_HOME) : join(homedir(), '.local', 'state');
  return join(base, 'wmi-hunter');
}

const MAX_ATTEMPTS = 1000;

export async function allocateHuntId(stateDir: string, at: Date): Promise<string> {
  const day = huntDay(at);
  const dir = join(stateDir, 'hunt-ids', day);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new CodedError(ErrorCode.Config, `cannot create the hunt-id state directory ${dir} (set WMI_HUNTER_STATE_DIR): ${(error as Error).message}`, {}, { cause: error });
  }
  const taken = (await readdir(dir)).filter((name) => /^\d+$/.test(name)).map(Number);
  let sequence = taken.length > 0 ? Math.max(...taken) + 1 : 1;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1, sequence += 1) {
    const huntId = formatHuntId(day, sequence);
    try {
      const handle = await open(join(dir, String(sequence).padStart(3, '0')), 'wx');
      await handle.writeFile(`${huntId} ${at.toISOString()}\n`);
      await handle.close();
      return huntId;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new CodedError(ErrorCode.Config, `cannot record hunt id ${huntId} in ${dir}: ${(error as Error).message}`, {}, { cause: error });
      }
    }
  }
  throw new CodedError(ErrorCode.Conflict, `could not allocate a hunt id in ${dir} after ${MAX_ATTEMPTS} attempts`);
}
