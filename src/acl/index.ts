export * from './dtype.js';
export * from './status.js';
export * from './stream.js';
export * from './tensor.js';
export { adapterSummary } from './adapter.js';
