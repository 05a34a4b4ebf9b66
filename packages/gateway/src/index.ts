export * from './store/index.js';
export * from './ws/index.js';
