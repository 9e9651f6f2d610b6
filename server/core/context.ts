import type { Config } from '../config.js';
import type { Repos } from '../db/index.js';
import type { NodeRegistry } from '../docker/registry.js';
import type { SecretBox } from '../lib/secrets.js';
import type { OperationRunner, Logger } from '../operations/runner.js';
import type { TemplateCatalog } from '../templates/catalog.js';
import type { TemplateImages } from '../templates/image-builder.js';
import type { UpdateBus } from './updates.js';
import type { Metrics } from './metrics.js';

/** Everything a service needs, wired once by buildApp; nothing here is reached through imports. */
export interface Context {
  config: Config;
  repos: Repos;
  templates: TemplateCatalog;
  images: TemplateImages;
  nodes: NodeRegistry;
  secrets: SecretBox;
  updates: UpdateBus;
  runner: OperationRunner;
  log: Logger;
  metrics: Metrics;
  /** Identifies this panel's containers, so two panels sharing a node never touch each other's. */
  panelId: string;
  /** Template images and customer networks known to exist per node, to skip re-checking them. */
  known: Set<string>;
}
