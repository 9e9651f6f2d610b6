import type { Config } from '../config.js';
import type { EdgeStatus } from '../domain/edge.js';
import type { Repos } from '../db/index.js';
import type { Operation } from '../domain/operations.js';
import type { Nodes } from '../docker/registry.js';
import type { SecretBox } from '../lib/secrets.js';
import type { TemplateCatalog } from '../templates/catalog.js';
import type { TemplateImages } from '../templates/image-builder.js';
import type { UpdateBus } from './updates.js';
import type { Metrics } from './metrics.js';

export interface Logger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug?(obj: object, msg: string): void;
}

/**
 * Where recorded operations go to be run. The operation runner (server/operations/) is
 * the one implementation; services only see this, so nothing below the runner imports it.
 */
export interface OperationQueue {
  /** Queues a recorded operation behind any earlier one on the same resource. */
  submit(op: Pick<Operation, 'id' | 'resource'>): void;
  /** Tells listeners (SSE, /wait) the operation's current state; `customerId` decides who may see it. */
  publish(op: Operation & { customerId: string | null }): void;
}

/** Everything a service needs, wired once by buildApp; nothing here is reached through imports. */
export interface Context {
  config: Config;
  repos: Repos;
  templates: TemplateCatalog;
  images: TemplateImages;
  nodes: Nodes;
  secrets: SecretBox;
  updates: UpdateBus;
  operations: OperationQueue;
  log: Logger;
  metrics: Metrics;
  /** Identifies this panel's containers, so two panels sharing a node never touch each other's. */
  panelId: string;
  /** Template images and customer networks known to exist per node, to skip re-checking them. */
  known: Set<string>;
  /** Each node's edge as the edge loop last found it. */
  edges: Map<string, EdgeStatus>;
}
