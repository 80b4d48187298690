import { z } from 'zod';
import { WmiValueSchema } from '../domain/collection.js';
import type { BackupResult, RemovalResult, RestoreResult } from '../domain/ports.js';

/** Runtime checks of what remove.ps1 and restore.ps1 return (the shapes of src/domain/ports.ts). */
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const ObjectKindSchema = z.enum(['filter', 'consumer', 'binding', 'timer']);

export const RemovalTargetSchema = z
  .object({
    kind: ObjectKindSchema,
    namespace: z.string().min(1),
    className: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not a WMI class name'),
    key: z.string().min(1),
    contentHash: Sha256Hex,
  })
  .strict();

const BackedUpObjectSchema = RemovalTargetSchema.extend({
  properties: z.record(z.string(), WmiValueSchema),
  creatorSid: z.string().nullable(),
}).strict();

export const RemovalBackupSchema = z
  .object({
    host: z.string().min(1),
    takenAt: z.string().min(1),
    objects: z.array(BackedUpObjectSchema),
    mof: z.string(),
    autorecoverEntries: z.array(z.string()),
  })
  .strict();

const RemovalObjectResultSchema = z
  .object({
    target: RemovalTargetSchema,
    status: z.enum(['removed', 'removed-earlier', 'skipped-changed', 'skipped-missing', 'failed']),
    message: z.string(),
    currentHash: Sha256Hex.nullable(),
  })
  .strict();

export const BackupResultSchema: z.ZodType<BackupResult> = z
  .object({
    host: z.string().min(1),
    backup: RemovalBackupSchema,
    results: z.array(RemovalObjectResultSchema),
    hostCopy: z.string().nullable(),
  })
  .strict();

export const RemovalResultSchema: z.ZodType<RemovalResult> = z
  .object({
    host: z.string().min(1),
    backup: RemovalBackupSchema,
    results: z.array(RemovalObjectResultSchema),
    autorecoverRemoved: z.array(z.string()),
    verified: z.boolean(),
  })
  .strict();

export const RestoreResultSchema: z.ZodType<RestoreResult> = z
  .object({
    host: z.string().min(1),
    results: z.array(
      z.object({ target: RemovalTargetSchema, status: z.enum(['restored', 'already-present', 'failed']), message: z.string() }).strict(),
    ),
    verified: z.boolean(),
  })
  .strict();
