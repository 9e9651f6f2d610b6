import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Every kind of durable operation, with the schema of what it is given (params), what it
 * writes down while it runs so a re-run after a crash finishes the same way (checkpoint),
 * and what it reports when it ends (result). Rows read back from the database pass through
 * these schemas, so a row no kind can read fails loudly instead of being half-understood.
 */

export const OPERATION_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

/** The states an operation never leaves. */
export const FINISHED_STATES: ReadonlySet<OperationStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export function isFinished(status: string): boolean {
  return FINISHED_STATES.has(status as OperationStatus);
}

export type ResourceType = 'environment' | 'node' | 'template' | 'fleet' | 'backup' | 'import';

/** The public view of an operation, as the contract shapes it. */
export interface Operation {
  id: string;
  kind: OperationKind;
  status: OperationStatus;
  progress: number;
  message: string;
  resource: { type: ResourceType; id: string };
  error: { code: string; message: string } | null;
  createdAt: string;
  updatedAt: string;
}

const Id = Type.String({ minLength: 1 });
const None = Type.Object({}, { additionalProperties: false });

const LimitsSchema = Type.Object({
  cpus: Type.Number(), memoryMb: Type.Number(), swapMb: Type.Number(), diskMb: Type.Number(), pids: Type.Number(),
  /** Absent in operations recorded before plans had it. */
  nofile: Type.Optional(Type.Number()),
});

const PortBindingSchema = Type.Object({
  name: Type.String(), protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')]),
  containerPort: Type.Integer(), hostPort: Type.Integer(),
});

/** One environment a batch plans to move; `to` undefined lets the panel place it. */
export const BatchMoveSchema = Type.Object({
  environmentId: Id, name: Type.String(),
  /** Where the environment was when the move was planned; it is skipped if it is elsewhere now. */
  from: Id,
  to: Type.Optional(Id),
});
export type BatchMove = Static<typeof BatchMoveSchema>;

const MoveOutcomeSchema = Type.Object({
  environmentId: Id, name: Type.String(),
  status: Type.Union([Type.Literal('moved'), Type.Literal('failed'), Type.Literal('skipped')]),
  /** The node's name where it ended, when it moved. */
  to: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
  code: Type.Optional(Type.String()),
  operationId: Type.Optional(Id),
});
export type MoveOutcome = Static<typeof MoveOutcomeSchema>;

const UnplaceableSchema = Type.Object({ environmentId: Id, name: Type.String(), reason: Type.String() });

const BatchResultSchema = Type.Object({
  moved: Type.Array(MoveOutcomeSchema),
  failed: Type.Array(MoveOutcomeSchema),
  skipped: Type.Array(MoveOutcomeSchema),
  unplaceable: Type.Array(UnplaceableSchema),
});
export type BatchResult = Static<typeof BatchResultSchema>;

/** What a fleet batch planned on its first run, kept so a re-run finishes that plan. */
const FleetPlanCheckpoint = Type.Object({
  plan: Type.Optional(Type.Object({ moves: Type.Array(BatchMoveSchema), note: Type.String() })),
});

interface KindSchemas {
  resource: ResourceType;
  params: TSchema;
  checkpoint: TSchema;
  result: TSchema;
}

const kind = <P extends TSchema, C extends TSchema = typeof None, R extends TSchema = typeof None>(
  resource: ResourceType, params: P, checkpoint?: C, result?: R,
) => ({ resource, params, checkpoint: (checkpoint ?? None) as C, result: (result ?? None) as R }) satisfies KindSchemas;

export const OPERATION_KINDS = {
  /** `fromBackup`: the environment starts with that backup's files instead of its template's. */
  provision: kind('environment', Type.Object({ fromBackup: Type.Optional(Id) }, { additionalProperties: false })),
  /** One backup of an environment; the resource is the backup. */
  backup: kind('backup', None),
  /** An environment's files made those of a backup: all of them (`path` absent) or one file or folder. */
  'backup-restore': kind('environment', Type.Object({ backupId: Id, path: Type.Optional(Type.String()) })),
  power: kind('environment', Type.Object({
    action: Type.Union([Type.Literal('start'), Type.Literal('stop'), Type.Literal('restart')]),
    /** Set when the customer's suspension or resumption asked for it. */
    reason: Type.Optional(Type.Union([Type.Literal('suspended'), Type.Literal('resumed')])),
  })),
  resize: kind('environment', Type.Object({
    planId: Id,
    /** The plan and limits to put back if the change fails. */
    previous: Type.Object({ planId: Id, limits: LimitsSchema }),
    /**
     * Set when the disk size changes: a container's disk cannot be resized, so the environment
     * is rebuilt into a new container with its data, on its node or, when that lacks room, another.
     */
    rebuild: Type.Optional(Type.Object({ sourceNodeId: Id, sourceContainerId: Type.String(), targetNodeId: Id })),
  }),
  /** A rebuild onto another node: the host ports chosen there, held against moves into the same node. */
  Type.Object({ ports: Type.Optional(Type.Array(PortBindingSchema)), draining: Type.Optional(Type.Boolean()) }),
  Type.Object({ nodeId: Type.Union([Id, Type.Null()]), copiedBytes: Type.Number(), downtimeMs: Type.Union([Type.Number(), Type.Null()]) })),
  destroy: kind('environment', None),
  reinstall: kind('environment', None),
  preload: kind('template', None),
  /**
   * A read-only look at a server to import; its result is the report. The login's secrets are
   * sealed with the panel's key (`sealed`: {password?, privateKey?}).
   */
  preflight: kind('import',
    Type.Object({ source: Type.Object({ host: Type.String(), port: Type.Integer(), user: Type.String(), sealed: Type.String() }), planId: Type.Optional(Id) }),
    None,
    Type.Object({ facts: Type.Unknown(), findings: Type.Array(Type.Object({
      code: Type.String(), severity: Type.Union([Type.Literal('blocker'), Type.Literal('warning'), Type.Literal('info')]),
      title: Type.String(), detail: Type.String(), action: Type.String() })) })),
  /** An existing server copied into a new environment (its files, its services under a supervisor), then checked against the source. */
  import: kind('environment',
    Type.Object({
      source: Type.Object({ host: Type.String(), port: Type.Integer(), user: Type.String(), sealed: Type.String() }),
      hostKey: Type.String(), diskMb: Type.Number(),
      /** A refresh pass: only files changed since this time (when the previous pass began) are copied. */
      since: Type.Optional(Type.String()),
      plan: Type.Object({
        excludes: Type.Array(Type.String()), services: Type.Array(Type.Object({ name: Type.String(), command: Type.String() })),
        ports: Type.Array(Type.Integer()), listenFiles: Type.Array(Type.String()), webPorts: Type.Array(Type.Integer()),
      }),
    }),
    None,
    Type.Object({
      copiedBytes: Type.Number(),
      /** When this pass began reading the source: the next refresh copies what changed after it. */
      startedAt: Type.String(),
      changes: Type.Array(Type.Object({ file: Type.String(), line: Type.Integer(), from: Type.String(), to: Type.String() })),
      services: Type.Array(Type.String()),
      checks: Type.Array(Type.Object({ port: Type.Integer(), listening: Type.Boolean(),
        http: Type.Optional(Type.Object({ source: Type.Union([Type.Integer(), Type.Null()]), environment: Type.Union([Type.Integer(), Type.Null()]), same: Type.Boolean() })) })),
      differences: Type.Integer(),
    })),
  /** An environment captured as a new template (or a new version of a captured one); the resource is the template. */
  capture: kind('template', Type.Object({ environmentId: Id, name: Type.String(), version: Type.String() })),
  /** One environment moving to another node (the contract calls the kind `migrate`). */
  migrate: kind('environment',
    Type.Object({ sourceNodeId: Id, targetNodeId: Id }),
    /**
     * The host ports chosen on the target, held against other moves into the same node; and
     * whether the edges were told to stop sending requests to the source (its final stop is near).
     */
    Type.Object({ ports: Type.Optional(Type.Array(PortBindingSchema)), draining: Type.Optional(Type.Boolean()) }),
    Type.Object({ targetNodeId: Id, copiedBytes: Type.Number(), downtimeMs: Type.Union([Type.Number(), Type.Null()]) })),
  evacuate: kind('node', None, None, BatchResultSchema),
  restore: kind('node', Type.Object({ evacuationId: Type.Optional(Id) }), None, BatchResultSchema),
  consolidate: kind('fleet', Type.Object({ headroom: Type.Number() }), FleetPlanCheckpoint, BatchResultSchema),
  rebalance: kind('fleet', Type.Object({ threshold: Type.Number(), headroom: Type.Number() }), FleetPlanCheckpoint, BatchResultSchema),
};

export type OperationKind = keyof typeof OPERATION_KINDS;
export type ParamsOf<K extends OperationKind> = Static<(typeof OPERATION_KINDS)[K]['params']>;
export type CheckpointOf<K extends OperationKind> = Static<(typeof OPERATION_KINDS)[K]['checkpoint']>;
export type ResultOf<K extends OperationKind> = Static<(typeof OPERATION_KINDS)[K]['result']>;

export function isOperationKind(value: string): value is OperationKind {
  return Object.hasOwn(OPERATION_KINDS, value);
}

/** A stored part of an operation that its kind's schema does not accept. */
export class InvalidOperationRecord extends Error {
  constructor(readonly operationId: string, what: string) {
    super(`operation ${operationId} cannot be read: ${what}`);
    this.name = 'InvalidOperationRecord';
  }
}

/** Checks one stored part against its kind's schema and returns it typed, or throws naming the first mismatch. */
export function readPart<K extends OperationKind, P extends 'params' | 'checkpoint' | 'result'>(
  operationId: string, kindName: K, part: P, value: unknown,
): Static<(typeof OPERATION_KINDS)[K][P]> {
  const schema: TSchema = OPERATION_KINDS[kindName][part];
  if (Value.Check(schema, value)) return value as Static<(typeof OPERATION_KINDS)[K][P]>;
  const first = Value.Errors(schema, value).First();
  const where = first ? `${first.path || '/'}: ${first.message}` : 'does not match';
  throw new InvalidOperationRecord(operationId, `${part} of a ${kindName} operation, ${where}`);
}
