/**
 * How strongly an agent run is isolated from its container, strongest first (the container's
 * sandbox/isolation.ts decides the level; the worker stores and shows the last one reported).
 */
import { z } from 'zod';

export const ISOLATION_LEVELS = ['uid+namespaces', 'uid', 'namespaces', 'none'] as const;
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number];
export const IsolationLevelSchema = z.enum(ISOLATION_LEVELS);
