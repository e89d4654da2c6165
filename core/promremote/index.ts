/** Prometheus remote read, pure parts: protobuf messages, Snappy blocks, chunked frames, XOR chunks, planning. */
export * from './crc32c.js';
export * from './proto.js';
export * from './query.js';
export * from './snappy.js';
export * from './xor.js';
