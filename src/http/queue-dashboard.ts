import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { IRouter } from 'express';
import type { Queues } from '../queue/queues.js';

/** The bull-board dashboard over every queue; http-app.ts mounts it behind admin authentication. */
export function createQueueDashboard(queues: Queues, basePath = '/admin/queues'): { basePath: string; router: IRouter } {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  // @bull-board/express carries its own copy of the api typings; the adapter is the same at runtime.
  const boardAdapter = serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'];
  createBullBoard({ queues: Object.values(queues).map((queue) => new BullMQAdapter(queue)), serverAdapter: boardAdapter });
  return { basePath, router: serverAdapter.getRouter() as IRouter };
}
