export { createTestContext, readTopic, stackEndpoints, uniqueName, waitUntil, type TestContext, type WaitOptions } from './context.ts';
export type { StackEndpoints } from './config.ts';
export { TcpProxy } from './proxy.ts';
