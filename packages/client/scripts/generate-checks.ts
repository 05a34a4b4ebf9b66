/**
 * Writes src/generated/server-checks.ts: a checker for every frame the gateway may send, compiled from the
 * protocol's schemas, plus the protocol constants the SDK needs at run time.
 *
 * Why generate: the protocol package checks with TypeBox's interpreter, which alone is larger than the SDK's
 * whole size budget, and TypeBox's own compiled checkers are built with `new Function`, which a CRM page with a
 * Content-Security-Policy without 'unsafe-eval' refuses. Emitting the compiler's source at build time gives the
 * same verdicts as plain functions and regular-expression literals, and no TypeBox at run time.
 *
 * Run: `npm run generate -w packages/client` (part of the package build). A unit test fails when the committed
 * file differs from what this script produces.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  CLOSE_REASONS,
  DTMF_DURATION_MS,
  EVENTS,
  EVENT_TYPES,
  MAX_DTMF_DIGITS,
  MAX_FRAME_BYTES,
  MAX_SDP_BYTES,
  PROTOCOL_VERSION,
  REQUESTS,
  REQUEST_TYPES,
  ReplyErrorSchema,
  ReplyOkSchema,
  WEBSOCKET_SUBPROTOCOL,
  type CloseReason,
} from '@switchboard/protocol';

export const GENERATED_PATH = fileURLToPath(new URL('../src/generated/server-checks.ts', import.meta.url));

const LOCAL_LINE = /^const (local_\d+) = (.+?);?$/;
const CHECK_HEADER = 'return function check(value) {';

/** Compiles schemas into one module, sharing regular expressions and functions between identical schemas. */
class ChecksModule {
  private readonly patterns = new Map<string, string>();
  private readonly functions = new Map<TSchema, string>();
  private readonly bodies: string[] = [];

  checkerFor(schema: TSchema): string {
    const known = this.functions.get(schema);
    if (known) return known;
    const name = `check${this.functions.size}`;
    this.functions.set(schema, name);
    this.bodies.push(this.compile(schema, name));
    return name;
  }

  private compile(schema: TSchema, name: string): string {
    const lines = TypeCompiler.Code(schema).split('\n');
    const renames = new Map<string, string>();
    let index = 0;
    for (; index < lines.length && lines[index] !== CHECK_HEADER; index++) {
      const local = LOCAL_LINE.exec(lines[index] ?? '');
      // Anything but regular-expression locals (helper functions, format checks) would need a runtime this
      // module does not carry: fail the build rather than emit a checker that cannot run.
      if (!local || !local[2]?.startsWith('/')) throw new Error(`unexpected line in compiled checker: ${lines[index]}`);
      renames.set(local[1]!, this.pattern(local[2]));
    }
    if (index === lines.length) throw new Error('compiled checker has no check function');
    const body = lines
      .slice(index + 1)
      .join('\n')
      .replace(/\blocal_\d+\b/g, (local) => {
        const renamed = renames.get(local);
        if (!renamed) throw new Error(`compiled checker uses an unknown local ${local}`);
        return renamed;
      });
    return `function ${name}(value: any): boolean {\n${body}`;
  }

  private pattern(literal: string): string {
    let name = this.patterns.get(literal);
    if (!name) {
      name = `pattern${this.patterns.size}`;
      this.patterns.set(literal, name);
    }
    return name;
  }

  source(exports: string): string {
    const patterns = [...this.patterns].map(([literal, name]) => `const ${name} = ${literal};`);
    return [...patterns, '', this.bodies.join('\n\n'), '', exports].join('\n');
  }
}

function closeReasonsByCode(): string {
  const rows = (Object.keys(CLOSE_REASONS) as CloseReason[]).map(
    (reason) => `  ${CLOSE_REASONS[reason].code}: [${JSON.stringify(reason)}, ${JSON.stringify(CLOSE_REASONS[reason].reconnect)}],`,
  );
  return `{\n${rows.join('\n')}\n}`;
}

export function generateChecksSource(): string {
  const module = new ChecksModule();
  const events = EVENT_TYPES.map((type) => `  ${JSON.stringify(type)}: ${module.checkerFor(EVENTS[type])},`);
  const results = REQUEST_TYPES.map((type) => `  ${JSON.stringify(type)}: ${module.checkerFor(REQUESTS[type].result)},`);
  const replyOk = module.checkerFor(ReplyOkSchema);
  const replyError = module.checkerFor(ReplyErrorSchema);
  const dtmfRequest = module.checkerFor(REQUESTS['call.dtmf'].request);
  const exports = `export type Check = (value: unknown) => boolean;

/** One checker per event type; each expects the whole frame. */
export const EVENT_CHECKS: { readonly [T in EventType]: Check } = {
${events.join('\n')}
};

/** The result schema of each request's successful reply. */
export const RESULT_CHECKS: { readonly [T in RequestType]: Check } = {
${results.join('\n')}
};

export const checkReplyOk: Check = ${replyOk};
export const checkReplyError: Check = ${replyError};
/** A whole \`call.dtmf\` frame: digits the browser sends itself (RFC 4733) pass what the gateway's would. */
export const checkDtmfRequest: Check = ${dtmfRequest};

export const PROTOCOL_VERSION = ${PROTOCOL_VERSION};
export const WEBSOCKET_SUBPROTOCOL = ${JSON.stringify(WEBSOCKET_SUBPROTOCOL)};
export const MAX_FRAME_BYTES = ${MAX_FRAME_BYTES};
export const MAX_DTMF_DIGITS = ${MAX_DTMF_DIGITS};
export const MIN_DTMF_MS = ${DTMF_DURATION_MS.min};
export const MAX_DTMF_MS = ${DTMF_DURATION_MS.max};
export const DEFAULT_DTMF_MS = ${DTMF_DURATION_MS.default};
/** Properties whose bound is in UTF-8 bytes, which a schema cannot express. */
export const BYTE_LIMITS: Readonly<Record<string, number>> = { sdp: ${MAX_SDP_BYTES} };

/** Close code → the reason's name and what the client should do next. */
export const CLOSE_REASONS: Readonly<Record<number, readonly [CloseReason, ReconnectAdvice]>> = ${closeReasonsByCode()};
`;
  const header = `// Generated by packages/client/scripts/generate-checks.ts from @switchboard/protocol. Do not edit: the build
// rewrites this file, and a unit test fails when it differs from what the protocol's schemas produce.
// The checkers are TypeBox's compiled JavaScript, not written for a type checker; tests prove what they accept.
// @ts-nocheck
import type { CloseReason, EventType, ReconnectAdvice, RequestType } from '@switchboard/protocol';
`;
  return `${header}\n${module.source(exports)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(GENERATED_PATH, generateChecksSource());
}
