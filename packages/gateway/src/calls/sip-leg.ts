/**
 * The SIP side of one call between a browser and SIP, once it has a dialog: where its in-dialog requests go (the
 * phone's own connection when it called or was reached over one, else the dialog's next hop), how a challenge to
 * them is answered (the line's credentials on a PBX line), and how it ends (BYE).
 */
import { nextHop, type Dialog, type DigestClient, type IncomingRequest, type SipRequest, type SipResponse, type TransportAddress, type UserAgent } from '@switchboard/sip';
import type { Logger } from 'pino';
import { ProtocolError } from '../ws/errors.js';

export interface Flow {
  destination: TransportAddress;
  connectionId: string | undefined;
}

/** Requests in the call's dialog (INFO, REFER): what sending digits and transferring need of the SIP leg. */
export interface DialogRequests {
  /** A new request with the dialog's next CSeq and its route set; throws `call-state` once the call has ended. */
  createRequest(method: string): SipRequest;
  /** Sends it where the dialog goes, answering a challenge with the line's credentials; rejects when no final response comes. */
  send(request: SipRequest): Promise<SipResponse>;
}

export class SipLeg {
  dialog: Dialog | undefined;
  /** Inbound: the INVITE, whose flow a phone registered over a connection is reached on. */
  incoming: IncomingRequest | undefined;
  /** Outbound: where the INVITE went. */
  destination: TransportAddress | undefined;
  /** Outbound to a phone registered over a connection: that connection, for the whole dialog. */
  phoneFlow: Flow | undefined;

  constructor(
    private readonly ua: UserAgent,
    private readonly log: Logger,
    private readonly direction: 'outbound' | 'inbound',
    /** The line's credentials, for a call on a PBX line. */
    readonly digest: () => DigestClient | undefined,
  ) {}

  /** The transport the far end is reached on: the INVITE's, either way. */
  get protocol(): TransportAddress['protocol'] {
    return this.destination?.protocol ?? this.incoming?.source.protocol ?? 'udp';
  }

  /** Where an in-dialog request goes: the phone's own connection when there is one, else its next hop. */
  flowFor(request: SipRequest): Flow {
    if (this.direction === 'inbound' && this.incoming?.connectionId !== undefined) {
      return { destination: this.incoming.source, connectionId: this.incoming.connectionId };
    }
    if (this.phoneFlow !== undefined) return this.phoneFlow;
    // A phone registered over a flow is reached over that flow, whatever its Contact says.
    const uri = request.uri;
    if (this.incoming !== undefined && this.direction === 'inbound' && uri.type === 'sip' && uri.host.endsWith('.invalid')) {
      return { destination: this.incoming.source, connectionId: undefined };
    }
    return { destination: nextHop(request, this.protocol), connectionId: undefined };
  }

  /** `endedWhy`: undefined while the call goes on, else why it ended, for requests that come due after that. */
  requests(endedWhy: () => string | undefined): DialogRequests {
    return {
      createRequest: (method) => {
        const why = endedWhy();
        if (why !== undefined || this.dialog === undefined) throw new ProtocolError('call-state', `the call has ended (${why ?? 'ended'})`);
        return this.dialog.createRequest(method);
      },
      send: (request) => {
        const dialog = this.dialog;
        if (dialog === undefined) return Promise.reject(new ProtocolError('call-state', 'the call has ended'));
        return this.send(dialog, request);
      },
    };
  }

  /**
   * Sends a request of the dialog; a 401/407 is answered once with the line's credentials. The retry takes the
   * dialog's next CSeq (RFC 3261 §12.2.1.1): one the user agent chose by itself would be handed out again.
   */
  private async send(dialog: Dialog, request: SipRequest): Promise<SipResponse> {
    const { destination, connectionId } = this.flowFor(request);
    const options = connectionId === undefined ? {} : { connectionId };
    const response = await this.ua.request(request, destination, options);
    const digest = this.digest();
    if ((response.status !== 401 && response.status !== 407) || digest === undefined) return response;
    let retry: SipRequest;
    try {
      const authorization = digest.authorize(request, response);
      retry = request.clone();
      retry.remove('Via');
      retry.set(authorization.header, ...authorization.values);
      retry.set('CSeq', { seq: dialog.createRequest(request.method).cseq!.seq, method: request.method });
    } catch (error) {
      this.log.warn({ code: (error as { code?: string }).code, method: request.method }, 'a challenge in the dialog could not be answered');
      return response;
    }
    return this.ua.request(retry, destination, options);
  }

  /** Ends the dialog with a BYE (answered or not); nothing when there is none. */
  bye(): void {
    const dialog = this.dialog;
    if (dialog === undefined) return;
    this.dialog = undefined;
    try {
      // Terminated once answered: a challenge to the BYE takes the dialog's next CSeq for the retry.
      void this.send(dialog, dialog.createRequest('BYE'))
        .catch(() => undefined)
        .finally(() => dialog.terminate());
    } catch (error) {
      this.log.warn({ err: error }, 'could not send BYE');
      dialog.terminate();
    }
  }
}
