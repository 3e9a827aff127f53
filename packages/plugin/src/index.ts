/** Library view of the plugin (for tests and other packages). The bundle entry is ./entry. */
export { TOOL_COPY, toolId, type ToolCopy } from './catalog';
export { toolArgs, dropNulls, type JsonSchema } from './json-schema';
export { callBroker, brokerCoordinatesFrom, BROKER_CALL_TIMEOUT_MS, type BrokerCoordinates, type BrokerCallOutcome } from './broker-call';
export { buildTool, buildTools, roleFrom, type GastownTool, type ToolCallContext, type ToolDeps } from './tools';
export { GastownPlugin } from './entry';
export { PLUGIN_BUNDLE_PATH } from './bundle-path';
