import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseCollection, type Collection } from '../domain/collection.js';
import { objectsFromCollection, type WmiObject } from '../domain/wmi-object.js';
import { CodedError, ErrorCode } from '../errors.js';

/**
 * Reads collection files named on the command line (a directory stands for the *.json files in it).
 * Every file is read and validated before anything else happens; the first bad one stops the run
 * with an error naming the file and the field.
 */
export interface LoadedCollection {
  /** The path as the user should read it (relative to the working directory when inside it). */
  source: string;
  collection: Collection;
  objects: WmiObject[];
}

export async function expandInputPaths(args: string[], cwd: string): Promise<string[]> {
  const paths: string[] = [];
  for (const arg of args) {
    const absolute = resolve(cwd, arg);
    let info;
    try {
      info = await stat(absolute);
    } catch (error) {
      throw new CodedError(ErrorCode.BadInput, `cannot read ${arg}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { source: arg }, { cause: error });
    }
    if (!info.isDirectory()) {
      paths.push(absolute);
      continue;
    }
    const inside = (await readdir(absolute)).filter((name) => name.toLowerCase().endsWith('.json')).sort();
    if (inside.length === 0) throw new CodedError(ErrorCode.BadInput, `${arg}: directory holds no .json collection files`, { source: arg });
    paths.push(...inside.map((name) => join(absolute, name)));
  }
  return paths;
}

export function displayPath(path: string, cwd: string): string {
  const shown = relative(cwd, path);
  return shown && !shown.startsWith('..') ? shown : path;
}

export async function readCollectionFile(path: string, cwd: string): Promise<LoadedCollection> {
  const source = displayPath(path, cwd);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CodedError(ErrorCode.BadInput, `cannot read ${source}: ${(error as Error).message}`, { source }, { cause: error });
  }
  let data: unknown;
  try {
    data = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new CodedError(ErrorCode.BadInput, `${source}: not JSON: ${(error as Error).message}`, { source }, { cause: error });
  }
  const collection = parseCollection(data, source);
  try {
    return { source, collection, objects: objectsFromCollection(collection) };
  } catch (error) {
    if (error instanceof CodedError) throw new CodedError(error.code, `${source}: ${error.message}`, { ...error.details, source }, { cause: error });
    throw error;
  }
}

export async function readCollections(args: string[], cwd: string): Promise<LoadedCollection[]> {
  const loaded: LoadedCollection[] = [];
  for (const path of await expandInputPaths(args, cwd)) loaded.push(await readCollectionFile(path, cwd));
  return loaded;
}
