import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

/**
 * A fresh folder under os.tmpdir() for the tests of the enclosing describe block (or file), made
 * before them and removed after them. Returns its path, to be read inside the tests.
 */
export function temporaryFolder(prefix: string): () => string {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return () => {
    if (!dir) throw new Error(`the temporary folder ${prefix}… is made before the tests run; read it inside a test`);
    return dir;
  };
}
