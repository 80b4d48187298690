import type { EventRef } from '../event-record.js';
import type { Finding } from '../finding.js';

/**
 * Origin chains as a tree a responder reads top-down: the subscription, the activity that created
 * it, that process's ancestors, the evidence, and every time it fired.
 */
const LONG_TEXT = 160;

export function renderTraceTree(findings: readonly Finding[]): string {
  if (findings.length === 0) return 'No subscriptions found in the input.\n';
  return findings.map(renderOne).join('\n');
}

function renderOne(finding: Finding): string {
  const lines: string[] = [];
  const name = finding.filterName ?? finding.consumerName ?? finding.binding ?? finding.id;
  const state = finding.deleted ? `, deleted ${finding.deleted}` : '';
  lines.push(`${finding.host}  ${name}  [${finding.kind}, ${finding.riskLevel}${finding.benign ? ', benign default' : ''}]  (id ${finding.id})`);
  lines.push(`│ namespace ${finding.namespace}; created ${finding.created ?? 'unknown'}${state}; user ${finding.userContext ?? 'unknown'}`);
  if (finding.consumerAction) lines.push(`│ action    ${shorten(finding.consumerAction)}`);
  const origin = finding.origin;
  if (!origin) {
    lines.push('└─ origin: nothing in the input says how it was created');
    return `${lines.join('\n')}\n`;
  }
  lines.push(`└─ origin: ${origin.method} (confidence ${origin.confidence}${origin.matchedOn ? `; ${origin.matchedOn}` : ''})`);
  const detail = (label: string, value: string | null | undefined) => {
    if (value) lines.push(`   ${label.padEnd(9)}${shorten(value)}`);
  };
  detail('process', origin.process);
  detail('command', origin.commandLine);
  detail('mof', origin.mofPath ? `${origin.mofPath}${origin.autorecover ? '  (#pragma autorecover: recompiled when the repository is rebuilt)' : ''}` : null);
  const session = [origin.logonId ? `logon ${origin.logonId}` : null, origin.integrityLevel ? `${origin.integrityLevel} integrity` : null].filter(Boolean).join(', ');
  detail('user', origin.user ? `${origin.user}${session ? ` (${session})` : ''}` : null);
  detail('time', origin.time);
  detail('script', origin.scriptBlock ? firstLines(origin.scriptBlock) : null);
  let indent = '   ';
  for (const parent of origin.parentChain) {
    lines.push(`${indent}└─ parent ${parent.image ?? '(unknown image)'}${parent.pid !== null ? ` pid ${parent.pid}` : ''}${parent.time ? ` at ${parent.time}` : ''}`);
    if (parent.commandLine) lines.push(`${indent}   ${shorten(parent.commandLine)}`);
    indent += '   ';
  }
  if (origin.evidence.length > 0) {
    lines.push('   evidence:');
    for (const ref of origin.evidence) lines.push(`     - ${describeRef(ref)}`);
  }
  if (origin.executions.length === 0) {
    lines.push('   fired: no execution seen');
  } else {
    lines.push(`   fired ${origin.executions.length} time(s):`);
    for (const execution of origin.executions) {
      lines.push(`     - ${execution.time} ${execution.parentImage ?? '?'} -> ${shorten(execution.commandLine ?? execution.image ?? '?')} as ${execution.user ?? 'unknown'}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function describeRef(ref: EventRef): string {
  return `${ref.channel} ${ref.eventId}${ref.recordId !== null ? ` #${ref.recordId}` : ''} at ${ref.time}${ref.source ? ` (${ref.source})` : ''}`;
}

function shorten(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > LONG_TEXT ? `${flat.slice(0, LONG_TEXT)}… (${flat.length} chars)` : flat;
}

function firstLines(text: string): string {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  return shorten(lines.slice(0, 3).join(' ⏎ '));
}
