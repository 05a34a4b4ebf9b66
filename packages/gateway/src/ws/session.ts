/**
 * One browser connection: login, keep-alive, token refresh, flood and garbage control, and handing call requests
 * to the routing layer. The state machine lives in session-state.ts; this file decides when to move it.
 *
 * Every request gets exactly one reply while the session is open. Frames that cannot be read get the protocol's
 * error reply and the session stays up, except before login (a client that cannot say hello properly gets one
 * reply and `hello-required`) and after many in a row (`protocol-violation`).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import {
  PROTOCOL_VERSION,
  checkResult,
  closeCode,
  encodeServerMessage,
  parseClientMessage,
  replyError,
  replyOk,
  replyToFailure,
  type ClientMessage,
  type CloseReason,
  type IceServer,
  type LineState,
  type CallSummary,
  type RequestOf,
  type ResultOf,
  type ServerEvent,
  type ServerMessage,
  type Welcome,
} from '@switchboard/protocol';
import type { Clock, TimerHandle } from '@switchboard/sip';
import { TOKEN_REFUSALS, isProtocolError, refusalReason } from './errors.js';
import type { SessionLimits } from './limits.js';
import type { SessionOperator, OperatorDirectory, SessionInfoProvider, TokenVerifier } from './ports.js';
import type { SessionHandle, SessionRegistry } from './registry.js';
import { transition, type SessionState } from './session-state.js';
import { TokenBucket } from './token-bucket.js';

/** Requests this layer does not answer itself: everything about calls. */
export type CallRequest = Exclude<ClientMessage, { type: 'hello' | 'auth.refresh' | 'ping' }>;

/**
 * The routing layer's entry point. Returns the reply's `result` (`{}` for requests that only succeed or fail);
 * throws a `ProtocolError` to answer with a protocol error. The result is sent as given, so it must match the
 * request's result schema. Events for the requesting session go through `afterReply`: they are sent once the reply
 * is out, so that a client always learns a call's id before anything about that call; one handed over after the
 * reply went (a lookup answered late) is sent at once.
 */
export type CallResult = ResultOf<CallRequest['type']>;
export type AfterReply = (send: () => void) => void;
export type RequestHandler = (session: SessionHandle, request: CallRequest, afterReply: AfterReply) => Promise<CallResult> | CallResult;

export interface SessionContext {
  verifier: TokenVerifier;
  directory: OperatorDirectory;
  registry: SessionRegistry;
  limits: SessionLimits;
  clock: Clock;
  logger: Logger;
  info: SessionInfoProvider;
  onRequest: RequestHandler | undefined;
  /** Told once a session is welcomed, so routing can ring it for calls already ringing its operator. */
  onSessionOpened: ((session: SessionHandle) => void) | undefined;
  /** Told once per authenticated session when it ends, so routing can release what the session held. */
  onSessionClosed: ((session: SessionHandle, reason: CloseReason | undefined) => void) | undefined;
}

/** Node timers overflow beyond 2^31-1 ms and fire at once; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function frameText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

export class Session implements SessionHandle {
  readonly id = `s-${randomUUID()}`;
  readonly connectedAt: number;
  private state: SessionState = 'awaiting-hello';
  private currentOperator: SessionOperator | undefined;
  private currentInstance: string | undefined;
  private expiresAt = 0;
  private closeReason: CloseReason | undefined;
  private readonly bucket: TokenBucket;
  private rateLimitedInARow = 0;
  private invalidInARow = 0;
  private helloTimer: TimerHandle | undefined;
  private expiringTimer: TimerHandle | undefined;
  private expiryTimer: TimerHandle | undefined;
  private log: Logger;
  private readonly closedWaiters: (() => void)[] = [];

  constructor(
    private readonly socket: WebSocket,
    private readonly ctx: SessionContext,
    remote: string,
  ) {
    this.connectedAt = ctx.clock.now();
    this.log = ctx.logger.child({ sessionId: this.id, remote });
    this.bucket = new TokenBucket(ctx.limits.messagesPerSecond, ctx.limits.burst, () => ctx.clock.now());
    this.helloTimer = ctx.clock.setTimeout(() => this.onHelloTimeout(), ctx.limits.helloTimeoutMs);
    socket.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    socket.on('close', (code) => this.onSocketClosed(code));
    socket.on('error', (error: Error & { code?: string }) => {
      // ws closes the socket itself after these (1009 for a frame over maxPayload, 1007 for bad UTF-8, 1002 ...).
      const reason = error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'too-large' : 'protocol-violation';
      this.log.info({ err: { code: error.code, message: error.message }, reason }, 'websocket error; ws closes the connection');
    });
  }

  // SessionHandle ----------------------------------------------------------------------------------------

  get operator(): SessionOperator {
    if (!this.currentOperator) throw new Error('the session is not authenticated');
    return this.currentOperator;
  }

  get instance(): string | undefined {
    return this.currentInstance;
  }

  get tokenExpiresAt(): number {
    return this.expiresAt;
  }

  get open(): boolean {
    return this.state === 'awaiting-hello' || this.state === 'authenticating' || this.state === 'authenticated';
  }

  get sessionState(): SessionState {
    return this.state;
  }

  send(event: ServerEvent): boolean {
    // Events are for authenticated sessions only: before welcome a client cannot know what they refer to.
    if (this.state !== 'authenticated') return false;
    return this.write(event);
  }

  close(reason: CloseReason): void {
    if (!this.open) return;
    this.closeReason = reason;
    this.moveTo('closing');
    this.stopTimers();
    this.leaveRegistry();
    this.log.info({ reason, code: closeCode(reason) }, 'closing session');
    this.socket.close(closeCode(reason), reason);
  }

  /** Drops the socket without a close handshake: for peers that ignore the close during shutdown. */
  terminate(): void {
    this.socket.terminate();
  }

  /** Resolves once the socket is closed, whoever closed it. */
  whenClosed(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  // Frames ----------------------------------------------------------------------------------------------

  private onFrame(data: RawData, isBinary: boolean): void {
    if (!this.open) return;
    if (isBinary) {
      this.close('protocol-violation');
      return;
    }
    const parsed = parseClientMessage(frameText(data), { maxFrameBytes: this.ctx.limits.maxFrameBytes });
    if (!this.bucket.take()) {
      this.rateLimitedInARow++;
      if (this.rateLimitedInARow > this.ctx.limits.maxRateLimitedInARow) {
        this.close('too-many-messages');
        return;
      }
      const id = parsed.ok ? parsed.message.id : (parsed.error.id ?? null);
      this.write(replyError(id, 'rate-limited', 'slow down', { retryAfterMs: this.bucket.retryAfterMs() }));
      return;
    }
    this.rateLimitedInARow = 0;

    if (this.state === 'awaiting-hello') {
      this.onFirstFrame(parsed);
      return;
    }
    if (!parsed.ok) {
      this.write(replyToFailure(parsed.error));
      this.invalidInARow++;
      if (this.invalidInARow > this.ctx.limits.maxInvalidInARow) this.close('protocol-violation');
      return;
    }
    this.invalidInARow = 0;
    const message = parsed.message;
    if (this.state === 'authenticating') {
      this.write(replyError(message.id, 'not-authenticated', 'wait for the reply to hello'));
      return;
    }
    switch (message.type) {
      case 'hello':
        this.write(replyError(message.id, 'bad-request', 'the session is already authenticated', { path: '/type', problem: 'not-allowed' }));
        return;
      case 'ping':
        this.write(replyOk(message.id, { serverTime: this.ctx.clock.now() }));
        return;
      case 'auth.refresh':
        void this.refresh(message).catch((error: unknown) => this.fault(message.id, error));
        return;
      default:
        void this.dispatch(message);
    }
  }

  private onFirstFrame(parsed: ReturnType<typeof parseClientMessage>): void {
    if (!parsed.ok) {
      if (parsed.error.problem === 'unsupported-version') {
        this.close('protocol-unsupported');
        return;
      }
      // One reply that says what was wrong, so a developer sees more than a close code.
      this.write(replyToFailure(parsed.error));
      this.close('hello-required');
      return;
    }
    const message = parsed.message;
    if (message.type !== 'hello') {
      this.write(replyError(message.id, 'not-authenticated', 'the first message must be hello'));
      this.close('hello-required');
      return;
    }
    this.moveTo('authenticating');
    void this.login(message).catch((error: unknown) => {
      this.log.error({ err: error }, 'login failed in the gateway');
      this.close('internal');
    });
  }

  // Login and refresh -----------------------------------------------------------------------------------

  private async login(hello: RequestOf<'hello'>): Promise<void> {
    const refused = await this.verify(hello.token);
    if (this.state !== 'authenticating') return;
    if ('refusal' in refused) {
      this.log.info({ refusal: refused.refusal }, 'login refused');
      this.close(refused.refusal);
      return;
    }
    const { operatorId, expiresAt } = refused;
    if (expiresAt <= this.ctx.clock.now()) {
      this.close('token-expired');
      return;
    }
    const operator = await this.ctx.directory.get(operatorId);
    if (this.state !== 'authenticating') return;
    // An operator without an extension has no line to ring or call from.
    if (!operator || !operator.enabled || operator.id !== operatorId || operator.extension === '') {
      this.log.info({ operatorId, known: operator !== undefined }, 'login refused: operator unknown, disabled or without a line');
      this.close('forbidden');
      return;
    }
    const [iceServers, line, calls] = await Promise.all([this.iceServers(operator), this.lineState(operator), this.calls(operator)]);
    if (this.state !== 'authenticating') return;

    const welcome: Welcome = {
      protocol: PROTOCOL_VERSION,
      sessionId: this.id,
      operator: { id: operator.id, name: operator.displayName, extension: operator.extension },
      serverTime: this.ctx.clock.now(),
      tokenExpiresAt: expiresAt,
      pingIntervalMs: this.ctx.limits.pingIntervalMs,
      maxFrameBytes: this.ctx.limits.maxFrameBytes,
      iceServers,
      line,
      calls,
    };
    // Directory data that breaks the schema would make the client drop the welcome; better a clear close here.
    const checked = checkResult('hello', welcome);
    if (!checked.ok) {
      this.log.error({ operatorId, problem: checked.error.message }, 'welcome would be invalid');
      this.close('internal');
      return;
    }

    if (this.helloTimer) this.ctx.clock.clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.currentOperator = operator;
    this.currentInstance = hello.instance;
    this.expiresAt = expiresAt;
    this.moveTo('authenticated');
    this.log = this.log.child({ operatorId: operator.id });
    for (const old of this.ctx.registry.add(this)) old.close('superseded');
    this.write(replyOk(hello.id, welcome));
    this.scheduleExpiry();
    this.log.info({ instance: hello.instance, client: hello.client, tokenExpiresAt: expiresAt }, 'session open');
    try {
      this.ctx.onSessionOpened?.(this);
    } catch (error) {
      this.log.error({ err: error }, 'onSessionOpened hook failed');
    }
  }

  private async refresh(request: RequestOf<'auth.refresh'>): Promise<void> {
    const verified = await this.verify(request.token);
    if (this.state !== 'authenticated') return;
    if ('refusal' in verified) {
      if (verified.refusal === 'internal') {
        this.write(replyError(request.id, 'internal', 'the token could not be checked; try again'));
      } else {
        this.write(replyError(request.id, 'token-rejected', `the token was refused: ${verified.refusal}`, { reason: verified.refusal }));
      }
      return;
    }
    // Never switch identity inside a session: calls, logs and other tabs are all keyed by the operator.
    if (verified.operatorId !== this.operator.id) {
      this.log.warn({ otherOperatorId: verified.operatorId }, 'refresh with a token for another operator refused');
      this.write(replyError(request.id, 'forbidden', 'the token is for another operator'));
      return;
    }
    if (verified.expiresAt <= this.ctx.clock.now()) {
      this.write(replyError(request.id, 'token-rejected', 'the token was refused: token-expired', { reason: 'token-expired' }));
      return;
    }
    const operator = await this.ctx.directory.get(verified.operatorId);
    if (this.state !== 'authenticated') return;
    if (!operator || !operator.enabled) {
      this.write(replyError(request.id, 'forbidden', 'the operator is disabled'));
      this.close('forbidden');
      return;
    }
    const iceServers = await this.iceServers(operator);
    if (this.state !== 'authenticated') return;
    this.currentOperator = { ...this.operator, displayName: operator.displayName, extension: operator.extension };
    this.expiresAt = verified.expiresAt;
    this.scheduleExpiry();
    this.write(replyOk(request.id, { tokenExpiresAt: verified.expiresAt, iceServers }));
    this.log.info({ tokenExpiresAt: verified.expiresAt }, 'token refreshed');
  }

  /** The verifier's answer, or the close reason it amounts to; `internal` when the verifier itself failed. */
  private async verify(token: string): Promise<{ operatorId: string; expiresAt: number } | { refusal: CloseReason }> {
    try {
      const result = await this.ctx.verifier.verify(token);
      if (typeof result?.operatorId !== 'string' || !Number.isSafeInteger(result.expiresAt)) {
        this.log.error('token verifier returned no operator id or expiry');
        return { refusal: 'internal' };
      }
      return result;
    } catch (error) {
      const reason = refusalReason(error);
      if (reason !== undefined && TOKEN_REFUSALS.has(reason)) return { refusal: reason };
      // Only the code is logged: a verifier's message might quote the token.
      this.log.error({ errorName: error instanceof Error ? error.name : typeof error, code: reason }, 'token verifier failed');
      return { refusal: 'internal' };
    }
  }

  private async iceServers(operator: SessionOperator): Promise<IceServer[]> {
    try {
      return (await this.ctx.info.iceServers?.(operator)) ?? [];
    } catch (error) {
      // Without TURN most calls still connect; refusing the login would take the phone away entirely.
      this.log.warn({ err: error }, 'ICE server provider failed; continuing without ICE servers');
      return [];
    }
  }

  private async lineState(operator: SessionOperator): Promise<LineState> {
    try {
      return (await this.ctx.info.lineState?.(operator)) ?? { state: 'unregistered' };
    } catch (error) {
      this.log.warn({ err: error }, 'line state provider failed');
      return { state: 'unregistered' };
    }
  }

  private async calls(operator: SessionOperator): Promise<CallSummary[]> {
    try {
      return (await this.ctx.info.calls?.(operator, this.id)) ?? [];
    } catch (error) {
      this.log.warn({ err: error }, 'call list provider failed');
      return [];
    }
  }

  // Call requests ---------------------------------------------------------------------------------------

  private async dispatch(request: CallRequest): Promise<void> {
    const handler = this.ctx.onRequest;
    if (!handler) {
      this.write(replyError(request.id, 'not-supported', `${request.type} is not offered by this gateway`));
      return;
    }
    const deferred: (() => void)[] = [];
    let replied = false;
    const sendAfterReply = (send: () => void): void => {
      try {
        send();
      } catch (error) {
        this.log.error({ err: error }, 'sending an event after a reply failed');
      }
    };
    try {
      const result = await handler(this, request, (send) => (replied ? sendAfterReply(send) : deferred.push(send)));
      if (this.state === 'authenticated') this.write(replyOk(request.id, result));
    } catch (error) {
      this.fault(request.id, error);
    }
    replied = true;
    for (const send of deferred) sendAfterReply(send);
  }

  private fault(id: string, error: unknown): void {
    if (this.state !== 'authenticated') return;
    if (isProtocolError(error)) {
      this.write(replyError(id, error.code, error.message, error.details));
      return;
    }
    this.log.error({ err: error }, 'request failed in the gateway');
    this.write(replyError(id, 'internal', 'the gateway failed to handle the request; it may be retried'));
  }

  // Timers ----------------------------------------------------------------------------------------------

  private onHelloTimeout(): void {
    this.helloTimer = undefined;
    if (this.state === 'awaiting-hello') this.close('hello-required');
    // A verifier or directory that hangs is the gateway's fault, not the client's.
    else if (this.state === 'authenticating') this.close('internal');
  }

  private scheduleExpiry(): void {
    this.clearExpiryTimers();
    const noticeAt = this.expiresAt - this.ctx.limits.expiringNoticeMs;
    this.expiringTimer = this.at(noticeAt, () => {
      this.expiringTimer = undefined;
      this.send({ type: 'auth.expiring', expiresAt: this.expiresAt, serverTime: this.ctx.clock.now() });
    });
    this.expiryTimer = this.at(this.expiresAt, () => {
      this.expiryTimer = undefined;
      this.close('token-expired');
    });
  }

  /** Runs `callback` at epoch ms `when` (at once if past), in steps short enough for Node's timers. */
  private at(when: number, callback: () => void): TimerHandle {
    const delay = Math.max(0, when - this.ctx.clock.now());
    if (delay <= MAX_TIMER_MS) return this.ctx.clock.setTimeout(callback, delay);
    const step = this.ctx.clock.setTimeout(() => {
      const next = this.at(when, callback);
      if (this.expiringTimer === step) this.expiringTimer = next;
      if (this.expiryTimer === step) this.expiryTimer = next;
    }, MAX_TIMER_MS);
    return step;
  }

  private clearExpiryTimers(): void {
    if (this.expiringTimer) this.ctx.clock.clearTimeout(this.expiringTimer);
    if (this.expiryTimer) this.ctx.clock.clearTimeout(this.expiryTimer);
    this.expiringTimer = undefined;
    this.expiryTimer = undefined;
  }

  private stopTimers(): void {
    if (this.helloTimer) this.ctx.clock.clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.clearExpiryTimers();
  }

  // Plumbing --------------------------------------------------------------------------------------------

  private write(message: ServerMessage): boolean {
    if (!this.open || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(encodeServerMessage(message));
    return true;
  }

  private moveTo(next: SessionState): void {
    this.state = transition(this.state, next);
  }

  private leaveRegistry(): void {
    if (!this.currentOperator) return;
    this.ctx.registry.remove(this);
  }

  private onSocketClosed(code: number): void {
    if (this.state === 'closed') return;
    const wasAuthenticated = this.currentOperator !== undefined;
    if (this.open) this.log.info({ code }, 'connection closed by the client');
    this.moveTo('closed');
    this.stopTimers();
    this.leaveRegistry();
    if (wasAuthenticated) {
      try {
        this.ctx.onSessionClosed?.(this, this.closeReason);
      } catch (error) {
        this.log.error({ err: error }, 'onSessionClosed hook failed');
      }
    }
    for (const resolve of this.closedWaiters.splice(0)) resolve();
  }
}
