export * from './errors';
export * from './common';
export * from './claims';
export * from './models';
export * from './user-api';
export * from './agent-api';
export * from './container-api';
export * from './clock';
