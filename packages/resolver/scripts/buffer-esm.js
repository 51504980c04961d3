// `require('buffer')` of dns-packet, as an ES module (see vendor-dns-packet.mjs).
export { Buffer } from 'node:buffer';
