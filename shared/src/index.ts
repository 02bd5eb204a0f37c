export * from './version.js';
export * from './errors.js';
export * from './closeCodes.js';
export * from './common.js';
export * from './envelope.js';
export * from './ops.js';
export * from './events.js';
export * from './codec.js';
