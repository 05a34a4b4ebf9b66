/**
 * The SIP side of the config file: PBXs the gateway registers operators' lines with, each operator's line, the
 * gateway's own registrar for SIP phones, and rtpengine. Passwords are never here: `passwordEnv` names the
 * environment variable that holds one, as for every other secret.
 */
import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';

export const EXPECT = 'x-expect';

/** PBX names appear in logs and config paths only: short, lower case. */
export const PBX_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,31}$';
/** A SIP user part as a PBX account or phone account name; `%` allowed for escaped characters. */
export const SIP_USER_PATTERN = "^[A-Za-z0-9+#*\\-_.!~'()%]{1,64}$";
const SIP_URI_PATTERN = '^sips?:[^\\s<>"]{1,500}$';
const HOST_PORT_PATTERN = '^([A-Za-z0-9.-]{1,253}|\\[[0-9A-Fa-f:.]{2,45}\\]):[0-9]{1,5}$';
const DOMAIN_PATTERN = '^([A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\\[[0-9A-Fa-f:.]{2,45}\\])(:[0-9]{1,5})?$';
const CODEC_PATTERN = '^[A-Za-z0-9-]{1,32}$';
/** An absolute path without control characters (rtpengine takes it as one string in an ng command). */
const FILE_PATH_PATTERN = '^/[^\\u0000-\\u001f\\u007f]{1,1023}$';
const ENV_NAME_PATTERN = '^[A-Z_][A-Z0-9_]{0,63}$';
/** An IP address with an optional port: `10.0.0.53`, `10.0.0.53:5353`, `2001:db8::53`, `[2001:db8::53]:5353`. */
const NAME_SERVER_PATTERN = '^([0-9]{1,3}(\\.[0-9]{1,3}){3}(:[0-9]{1,5})?|\\[[0-9A-Fa-f:.]{2,45}\\](:[0-9]{1,5})?|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)$';

export const MEDIA_MODES = ['rtpengine', 'passthrough'] as const;
export const DTMF_MODES = ['rfc4733', 'info'] as const;
export const LINE_MODES = ['pbx', 'local'] as const;
export const DEFAULT_CODECS = ['opus', 'PCMU', 'PCMA', 'telephone-event'] as const;

const int = (minimum: number, maximum: number, defaultValue: number, description: string) =>
  Type.Integer({ minimum, maximum, default: defaultValue, description, [EXPECT]: `an integer from ${minimum} to ${maximum}` });

const oneOf = <const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number] | undefined, description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, [EXPECT]: `one of ${values.map((v) => `"${v}"`).join(', ')}`, ...(defaultValue === undefined ? {} : { default: defaultValue }) },
  ) as TUnion<TLiteral<T[number]>[]>;

const sipUri = (description: string) =>
  Type.String({ pattern: SIP_URI_PATTERN, description, [EXPECT]: 'a sip: or sips: URI, e.g. sip:pbx.example.com:5060;transport=tcp' });

const envName = (description: string) =>
  Type.String({ pattern: ENV_NAME_PATTERN, description, [EXPECT]: 'the name of an environment variable (A-Z, 0-9 and _), not the password itself' });

const sipUser = (description: string) =>
  Type.String({ pattern: SIP_USER_PATTERN, description, [EXPECT]: "a SIP user name: 1-64 letters, digits or + # * - _ . ! ~ ' ( ) %" });

export const PbxSchema = Type.Object(
  {
    registrar: sipUri('where REGISTERs go; its transport parameter picks UDP, TCP, TLS, WS or WSS'),
    outboundProxy: Type.Optional(sipUri('every request goes here first, whatever its Request-URI')),
    domain: Type.Optional(
      Type.String({ pattern: DOMAIN_PATTERN, description: 'the domain of the operators’ addresses of record; default the registrar’s host and port', [EXPECT]: 'a domain name or IP address, optionally with :port' }),
    ),
    realm: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'answer digest challenges of this realm only', [EXPECT]: 'a non-empty string of at most 256 characters' }),
    ),
    media: oneOf(MEDIA_MODES, 'rtpengine', 'rtpengine bridges WebRTC to plain RTP; passthrough hands the browser’s SDP to a WebRTC-capable PBX'),
    dtmf: oneOf(DTMF_MODES, 'info', 'how DTMF reaches the PBX: info sends SIP INFO (application/dtmf-relay), one per digit; rfc4733 has the browser send telephone-events in its audio (codecs must then list telephone-event)'),
    codecs: Type.Array(Type.String({ pattern: CODEC_PATTERN }), {
      minItems: 1,
      maxItems: 16,
      uniqueItems: true,
      default: [...DEFAULT_CODECS],
      description: 'codecs offered to the PBX, in order of preference',
      [EXPECT]: 'a list of 1 to 16 distinct codec names (opus, PCMU, PCMA, G722, telephone-event, ...)',
    }),
    registerExpiresSeconds: int(60, 86_400, 600, 'registration lifetime asked of the PBX'),
    keepAliveSeconds: int(5, 300, 15, 'OPTIONS ping interval, to notice a PBX that went away'),
  },
  { additionalProperties: false, description: 'a PBX the gateway registers operators’ lines with' },
);

export const LineSchema = Type.Object(
  {
    mode: oneOf(LINE_MODES, undefined, 'pbx: an account at a PBX, registered by the gateway; local: an extension of the gateway itself'),
    pbx: Type.Optional(Type.String({ pattern: PBX_NAME_PATTERN, description: 'name of an entry in `pbx`', [EXPECT]: 'the name of a configured PBX' })),
    user: Type.Optional(sipUser('the account’s user at the PBX (the address of record is user@domain)')),
    authUser: Type.Optional(sipUser('the digest user name, when it differs from user')),
    passwordEnv: Type.Optional(envName('environment variable holding the account’s SIP password')),
  },
  { additionalProperties: false, description: 'an operator’s phone line' },
);

export const RegistrarSchema = Type.Object(
  {
    realm: Type.String({ minLength: 1, maxLength: 128, default: 'switchboard', description: 'the digest realm of the gateway’s registrar', [EXPECT]: 'a non-empty string' }),
    minExpiresSeconds: int(10, 3600, 60, 'shorter registrations are refused with 423'),
    maxExpiresSeconds: int(60, 86_400, 3600, 'longer registrations are cut to this'),
    accounts: Type.Record(
      Type.String({ pattern: SIP_USER_PATTERN }),
      Type.Object(
        { passwordEnv: envName('environment variable holding this phone’s SIP password') },
        { additionalProperties: false, description: 'a SIP phone account' },
      ),
      {
        default: {},
        maxProperties: 10_000,
        description: 'SIP phones that may register to the gateway, by user name (their extension)',
        [EXPECT]: 'an object of user name → { passwordEnv }',
      },
    ),
  },
  { additionalProperties: false, default: {}, description: 'the gateway’s own registrar, for SIP phones' },
);

export const RtpengineSchema = Type.Object(
  {
    ng: Type.String({ pattern: HOST_PORT_PATTERN, description: 'rtpengine’s ng control address', [EXPECT]: 'host:port, e.g. 127.0.0.1:22222' }),
    timeoutMs: int(100, 10_000, 1000, 'how long one ng command may take, retries included'),
    holdMusic: Type.Optional(
      Type.String({
        pattern: FILE_PATH_PATTERN,
        description:
          'an audio file rtpengine plays over and over (up to a million times) to the far end of a call an operator holds, until the resume: a path on rtpengine’s host, in any format its ffmpeg reads (WAV, MP3...); none: the far end hears silence',
        [EXPECT]: 'an absolute path, e.g. /usr/share/sounds/hold.wav',
      }),
    ),
  },
  { additionalProperties: false, description: 'rtpengine, the media relay between WebRTC and plain RTP' },
);

export const NAME_SERVER_EXPECT = 'an IP address with an optional port (10.0.0.53, 10.0.0.53:5353, [2001:db8::53]:5353)';

export const DnsSchema = Type.Object(
  {
    servers: Type.Optional(
      Type.Array(Type.String({ pattern: NAME_SERVER_PATTERN, [EXPECT]: NAME_SERVER_EXPECT }), {
        minItems: 1,
        maxItems: 8,
        description: 'name servers asked, in order; default the system’s (/etc/resolv.conf, and /etc/hosts for addresses)',
        [EXPECT]: 'a list of 1 to 8 name servers, each an IP address with an optional port',
      }),
    ),
    timeoutMs: int(100, 30_000, 2000, 'how long one DNS query waits for an answer'),
    tries: int(1, 5, 2, 'attempts per DNS query'),
  },
  { additionalProperties: false, default: {}, description: 'how PBXs given by name are found: NAPTR, SRV and A/AAAA records (RFC 3263)' },
);

export const SipSideSchemas = {
  pbx: Type.Record(Type.String({ pattern: PBX_NAME_PATTERN }), PbxSchema, {
    default: {},
    maxProperties: 32,
    description: 'PBXs by name',
    [EXPECT]: 'an object of PBX name (a-z, 0-9, -) → PBX settings',
  }),
  lines: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), LineSchema, {
    default: {},
    maxProperties: 100_000,
    description: 'operators’ phone lines, by operator id; operators without one are local extensions',
    [EXPECT]: 'an object of operator id → line',
  }),
  registrar: RegistrarSchema,
  rtpengine: Type.Optional(RtpengineSchema),
  dns: DnsSchema,
};
