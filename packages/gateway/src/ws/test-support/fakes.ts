/** In-memory stand-ins for the token verifier and the operator directory. */
import type { CloseReason } from '@switchboard/protocol';
import { TokenRefusal, type SessionOperator, type OperatorDirectory, type TokenVerifier } from '../ports.js';

type Grant = { operatorId: string; expiresAt: number } | { refuse: CloseReason } | { fail: Error };

export class FakeVerifier implements TokenVerifier {
  private readonly grants = new Map<string, Grant>();
  /** Every token seen, so tests can check that none ended up in a log. */
  readonly seen: string[] = [];

  grant(token: string, operatorId: string, expiresAt: number): this {
    this.grants.set(token, { operatorId, expiresAt });
    return this;
  }

  refuse(token: string, reason: CloseReason): this {
    this.grants.set(token, { refuse: reason });
    return this;
  }

  fail(token: string, error: Error): this {
    this.grants.set(token, { fail: error });
    return this;
  }

  async verify(token: string): Promise<{ operatorId: string; expiresAt: number }> {
    this.seen.push(token);
    const grant = this.grants.get(token);
    if (!grant) throw new TokenRefusal('token-invalid');
    if ('refuse' in grant) throw new TokenRefusal(grant.refuse, `refused ${token}`);
    if ('fail' in grant) throw grant.fail;
    return { ...grant };
  }
}

export class FakeDirectory implements OperatorDirectory {
  private readonly operators = new Map<string, SessionOperator>();

  add(id: string, displayName = `Operator ${id}`, extension = '201', enabled = true): this {
    this.operators.set(id, { id, displayName, extension, enabled });
    return this;
  }

  async get(id: string): Promise<SessionOperator | undefined> {
    const operator = this.operators.get(id);
    return operator ? { ...operator } : undefined;
  }
}
