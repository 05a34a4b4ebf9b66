/**
 * A DNS zone in memory for locating PBX servers in tests: records by name (without case), a count of the queries, and
 * names whose queries fail as a broken name server's do.
 */
import { SipError, type DnsResolver, type NaptrRecord, type SrvRecord } from '@switchboard/sip';

export class MemoryZone implements DnsResolver {
  readonly naptrs = new Map<string, NaptrRecord[]>();
  readonly srvs = new Map<string, SrvRecord[]>();
  readonly hosts = new Map<string, string[]>();
  /** Names whose every query fails (SERVFAIL). */
  readonly failing = new Set<string>();
  queries = 0;

  naptr(name: string): Promise<readonly NaptrRecord[]> {
    return this.answer(name, this.naptrs);
  }

  srv(name: string): Promise<readonly SrvRecord[]> {
    return this.answer(name, this.srvs);
  }

  addresses(name: string): Promise<readonly string[]> {
    return this.answer(name, this.hosts);
  }

  private async answer<T>(name: string, records: Map<string, T[]>): Promise<readonly T[]> {
    this.queries += 1;
    const key = name.toLowerCase();
    if (this.failing.has(key)) throw new SipError('dns', `lookup of ${name} failed (ESERVFAIL)`);
    return records.get(key) ?? [];
  }
}
