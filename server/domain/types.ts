import type { BackupPolicy } from './backups.js';
/** The panel's own records, as the services and the pure domain logic see them. */

export interface Limits {
  cpus: number;
  memoryMb: number;
  swapMb: number;
  diskMb: number;
  pids: number;
  /** Open files per process (the nofile ulimit). Set when a container is made: a change applies at the next one. */
  nofile: number;
}

export interface Plan extends Limits {
  id: string;
  name: string;
  /** Customers may move their own environments onto this plan. */
  selectable: boolean;
  /** When environments on it are backed up, how many backups they keep, and the most their backups may take. */
  backups: BackupPolicy;
  createdAt: string;
  updatedAt: string;
}

export type NodeState = 'active' | 'maintenance' | 'disabled';
export type NodeStatus = 'online' | 'offline';

export interface NodeRecord {
  id: string;
  name: string;
  endpoint: string;
  publicHost: string;
  state: NodeState;
  status: NodeStatus;
  capacity: { cpus: number; memoryMb: number; diskMb: number | null };
  cpuOvercommit: number;
  memoryOvercommit: number;
  maxEnvironments: number;
  diskQuota: boolean;
  allowUnenforcedDisk: boolean;
  dockerVersion: string;
  storageDriver: string;
  lastSeenAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Allocation {
  cpus: number;
  memoryMb: number;
  diskMb: number;
  environments: number;
}

export interface CustomerLimits {
  environments: number | null;
  cpus: number | null;
  memoryMb: number | null;
  diskMb: number | null;
}

export interface Customer {
  id: string;
  name: string;
  email: string;
  status: 'active' | 'suspended';
  limits: CustomerLimits;
  /** The customer may change their environments' plans themselves (to selectable plans). */
  selfService: boolean;
  createdAt: string;
  updatedAt: string;
}

/** What the template's health check last said; null when the template has none or it has not run yet. */
export type EnvironmentHealth = 'starting' | 'healthy' | 'unhealthy';

export type EnvironmentState =
  | 'provisioning' | 'running' | 'stopped' | 'error' | 'migrating' | 'deleting' | 'unknown';

export interface PortBinding {
  name: string;
  protocol: 'tcp' | 'udp';
  containerPort: number;
  hostPort: number;
}

export interface Environment {
  id: string;
  name: string;
  customerId: string;
  nodeId: string;
  templateId: string;
  /** The template's version its container was made from (null: made before versions were recorded). */
  templateVersion: string | null;
  planId: string;
  state: EnvironmentState;
  desiredState: 'running' | 'stopped';
  limits: Limits;
  imageId: string | null;
  containerId: string | null;
  ports: PortBinding[];
  /** How the container differs from what the panel wants, when it does. */
  drift: Drift | null;
  health: EnvironmentHealth | null;
  /** The first label of its default hostname under KURA_BASE_DOMAIN; issued once, never reused. */
  hostnameLabel: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Drift {
  detectedAt: string;
  differences: { field: string; expected: string | number | boolean; actual: string | number | boolean | null }[];
}

export interface TemplatePort {
  name: string;
  port: number;
  protocol: 'tcp' | 'udp';
}

export type ImageSource =
  | { type: 'busybox'; overlay?: string }
  | { type: 'debootstrap'; suite: string; variant: 'minbase'; include: string[]; overlay?: string }
  | { type: 'registry'; reference: string }
  /** Captured from an environment: the image Docker committed, saved beside the template (`image`, relative to its folder). */
  | { type: 'captured'; image: string; imageId: string; sizeBytes: number; environmentId: string; capturedAt: string };

export interface Template {
  id: string;
  name: string;
  version: string;
  description: string;
  source: ImageSource;
  ports: TemplatePort[];
  dataPath: string | null;
  capabilities: string[];
  command: string[];
  env: Record<string, string>;
  workingDir: string | null;
  user: string | null;
  /** The plan suggested for this template, by plan name. */
  defaults: { plan: string } | null;
  /** Absolute path of the template's folder, for its overlay files. */
  dir: string;
  /** How Docker checks the environment serves (CIS 5.27); null: no check. */
  healthcheck: { command: string[]; intervalSeconds: number; timeoutSeconds: number; startPeriodSeconds: number; startIntervalSeconds: number; retries: number } | null;
}

/** Who is calling: the admin, or one customer. */
export type Principal =
  | { kind: 'admin'; tokenId: string | null; label: string }
  | { kind: 'customer'; customerId: string; tokenId: string | null; label: string };

/** The panel's two languages. */
export type Lang = 'ja' | 'en';

export type DomainStatus = 'pending' | 'active' | 'failed';

/** A customer's own domain name on one of their environments. */
export interface Domain {
  id: string;
  environmentId: string;
  customerId: string;
  /** As entered (Unicode allowed). */
  name: string;
  /** The IDNA form, lowercase. */
  asciiName: string;
  status: DomainStatus;
  /** The TXT value that proves control. */
  verificationValue: string;
  /** Why the last check did not prove control, or why the claim failed. */
  reason: string | null;
  checkAttempts: number;
  nextCheckAt: string | null;
  checkedAt: string | null;
  certificate: DomainCertificate;
  createdAt: string;
  updatedAt: string;
}

export interface DomainCertificate {
  source: 'acme' | 'uploaded' | null;
  status: 'none' | 'pending' | 'issued' | 'failed';
  /** The chain, leaf first, when there is one. */
  pem: string | null;
  /** The private key sealed with the panel's secret key. */
  keySealed: string | null;
  notAfter: string | null;
  /** The last failure, in words (the CA's reason for an ACME order). */
  error: string | null;
  attempts: number;
  /** When the panel next tries to obtain or renew it. */
  nextAt: string | null;
}
