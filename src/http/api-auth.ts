import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { ApiRole, ApiToken } from '../config/config.js';
import type { Actor } from '../app/engine.js';
import { CodedError, ErrorCode } from '../errors.js';

/**
 * Bearer API tokens with roles. Tokens are compared by their SHA-256 in constant time; a token is
 * never logged or echoed. What each role may do:
 * - viewer: read hunts, reports and approvals;
 * - responder: viewer + start hunts, ask for removal;
 * - approver: viewer + decide on approval requests, and restore the backups of removals (as an
 *   approver the request names, by token group);
 * - admin: everything, including restoring any backup, the audit log and the queue dashboard.
 * Browsers reach the dashboard with Basic auth whose password is the token.
 */
export type Permission = 'read' | 'hunt' | 'request-removal' | 'decide' | 'restore' | 'admin';

const PERMISSIONS: Record<ApiRole, Permission[]> = {
  viewer: ['read'],
  responder: ['read', 'hunt', 'request-removal'],
  approver: ['read', 'decide', 'restore'],
  admin: ['read', 'hunt', 'request-removal', 'decide', 'restore', 'admin'],
};

export interface Principal {
  id: string;
  roles: ApiRole[];
  groups: string[];
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest();

export class ApiAuthenticator {
  private readonly tokens: Array<{ digest: Buffer; principal: Principal }>;

  constructor(
    tokens: ApiToken[],
    /** Told of every request a valid token was refused for lack of a role (the audit log records it). */
    private readonly onForbidden: (actor: Actor, permission: Permission, path: string) => Promise<void> = async () => undefined,
  ) {
    this.tokens = tokens.map((token) => ({ digest: digest(token.token), principal: { id: token.id, roles: token.roles, groups: token.groups } }));
  }

  identify(presented: string): Principal | null {
    const presentedDigest = digest(presented);
    let found: Principal | null = null;
    for (const token of this.tokens) {
      if (timingSafeEqual(token.digest, presentedDigest)) found = token.principal;
    }
    return found;
  }

  /** Authenticates the request and checks that one of its roles grants the permission. */
  require(permission: Permission): RequestHandler {
    return (request, response, next) => {
      const presented = presentedToken(request);
      const principal = presented ? this.identify(presented) : null;
      if (!principal) {
        response.setHeader('WWW-Authenticate', 'Bearer realm="wmi-hunter", Basic realm="wmi-hunter"');
        next(new CodedError(ErrorCode.Unauthorized, presented ? 'invalid API token' : 'an API token is required (Authorization: Bearer <token>)'));
        return;
      }
      if (!principal.roles.some((role) => PERMISSIONS[role].includes(permission))) {
        const refusal = new CodedError(ErrorCode.Forbidden, `token ${principal.id} (${principal.roles.join(', ')}) may not ${permission}`, { permission });
        const actor: Actor = { kind: 'api', id: principal.id, from: request.ip ?? 'unknown' };
        this.onForbidden(actor, permission, request.path).then(
          () => next(refusal),
          (error: unknown) => next(error),
        );
        return;
      }
      request.principal = principal;
      next();
    };
  }
}

function presentedToken(request: Request): string | null {
  const header = request.get('authorization') ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1]!;
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) || null : null;
  }
  return null;
}

export function apiActor(request: Request): Actor {
  const principal = request.principal;
  if (!principal) throw new CodedError(ErrorCode.Unauthorized, 'not authenticated');
  return { kind: 'api', id: principal.id, from: request.ip ?? 'unknown' };
}
