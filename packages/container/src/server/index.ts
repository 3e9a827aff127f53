export { createControlApp, type ControlAppOptions } from './control-app';
export { containerAuth, secretsEqual, type ContainerAuthOptions } from './container-auth';
export { errorHandler, notFoundHandler } from './error-handler';
export { readJsonBody } from './json-body';
export { listen, type RunningServer } from './listen';
