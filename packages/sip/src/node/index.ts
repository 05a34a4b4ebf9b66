export { createTransport } from './create-transport.js';
export { UdpTransport } from './udp-transport.js';
export { StreamTransport } from './stream-transport.js';
export { WsTransport } from './ws-transport.js';
export * from './transport-base.js';
export { nodeDigestHasher } from './node-digest-hash.js';
export { nodeDnsResolver, type NodeDnsResolverOptions } from './node-dns-resolver.js';
