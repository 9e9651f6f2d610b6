import { Type, type TSchema } from '@sinclair/typebox';
import { ID_PATTERN } from '../../lib/ids.js';

/** TypeBox schemas: fastify validates with them and the OpenAPI document is made from them. */

export const Id = Type.String({ pattern: ID_PATTERN, description: 'opaque id' });
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
export const Slug = Type.String({ pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', maxLength: 63 });
export const Text = (max: number) => Type.String({ minLength: 1, maxLength: max, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
export const Email = Type.String({ maxLength: 254, pattern: '^[^\\s@<>()\\[\\],;:"]{1,64}@[A-Za-z0-9.-]{1,253}\\.[A-Za-z]{2,63}$' });
export const Timestamp = Type.String({ description: 'ISO-8601 UTC' });

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  }),
}, { $id: 'Error' });

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ pattern: ID_PATTERN, description: 'nextCursor of the previous page' })),
};

export const page = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const Limits = Type.Object({
  cpus: Type.Number(), memoryMb: Type.Integer(), swapMb: Type.Integer(), diskMb: Type.Integer(), pids: Type.Integer(), nofile: Type.Integer(),
});

export const Operation = Type.Object({
  id: Type.String(), kind: Type.String(),
  status: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]),
  progress: Type.Integer({ minimum: 0, maximum: 100 }), message: Type.String(),
  resource: Type.Object({ type: Type.String(), id: Type.String() }),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  createdAt: Timestamp, updatedAt: Timestamp,
  result: Type.Optional(Type.Unknown({ description: 'what the operation found, for kinds that report (a preflight\'s report); admins only' })),
});

export const Node = Type.Object({
  id: Type.String(), name: Type.String(), endpoint: Type.String(), publicHost: Type.String(),
  state: Type.Union([Type.Literal('active'), Type.Literal('maintenance'), Type.Literal('disabled')]),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  capacity: Type.Object({ cpus: Type.Number(), memoryMb: Type.Integer(), diskMb: Type.Union([Type.Integer(), Type.Null()]) }),
  allocated: Type.Object({ cpus: Type.Number(), memoryMb: Type.Integer(), diskMb: Type.Integer(), environments: Type.Integer() }),
  maxEnvironments: Type.Integer(), diskQuota: Type.Boolean(), allowUnenforcedDisk: Type.Boolean(),
  dockerVersion: Type.String(), storageDriver: Type.String(), cpuOvercommit: Type.Number(), memoryOvercommit: Type.Number(),
  lastSeenAt: Type.Union([Timestamp, Type.Null()]),
  edge: Type.Object({ status: Type.Union([Type.Literal('running'), Type.Literal('starting'), Type.Literal('error')]), message: Type.Optional(Type.String()) },
    { description: 'Kura\'s edge proxy on this node, which serves environments by host name on ports 80 and 443' }),
  createdAt: Timestamp, updatedAt: Timestamp,
});

export const Plan = Type.Object({
  id: Type.String(), name: Type.String(), cpus: Type.Number(), memoryMb: Type.Integer(), swapMb: Type.Integer(),
  diskMb: Type.Integer(), pids: Type.Integer(), nofile: Type.Integer(),
  selectable: Type.Boolean({ description: 'customers may move their own environments onto this plan' }),
  backups: Type.Object({
    schedule: Type.Union([Type.Literal('daily'), Type.Literal('none')]), keepLast: Type.Integer(), keepDaily: Type.Integer(), keepWeekly: Type.Integer(),
    storageMb: Type.Union([Type.Integer(), Type.Null()]),
  }),
  createdAt: Timestamp, updatedAt: Timestamp,
});

/** A plan's say over backups, as plans are created and edited with it. */
export const BackupPolicyFields = Type.Object({
  schedule: Type.Union([Type.Literal('daily'), Type.Literal('none')], { description: 'daily: the panel backs every environment on the plan up once a day' }),
  keepLast: Type.Integer({ minimum: 1, maximum: 1000, description: 'the newest backups kept whatever their age' }),
  keepDaily: Type.Integer({ minimum: 0, maximum: 1000, description: 'the newest backup of each of this many days' }),
  keepWeekly: Type.Integer({ minimum: 0, maximum: 1000, description: 'the newest backup of each of this many weeks' }),
  storageMb: Type.Union([Type.Integer({ minimum: 1, maximum: 1 << 30 }), Type.Null()], { description: 'the most one customer\'s backups may take in the repository; null is no cap' }),
});

const LimitValue = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
export const CustomerLimits = Type.Object({
  environments: LimitValue(Type.Integer({ minimum: 0, maximum: 100000 })),
  cpus: LimitValue(Type.Number({ minimum: 0, maximum: 100000 })),
  memoryMb: LimitValue(Type.Integer({ minimum: 0, maximum: 1 << 30 })),
  diskMb: LimitValue(Type.Integer({ minimum: 0, maximum: 1 << 30 })),
}, { additionalProperties: false });

export const Customer = Type.Object({
  id: Type.String(), name: Type.String(), email: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
  limits: Type.Object({
    environments: Type.Union([Type.Integer(), Type.Null()]), cpus: Type.Union([Type.Number(), Type.Null()]),
    memoryMb: Type.Union([Type.Integer(), Type.Null()]), diskMb: Type.Union([Type.Integer(), Type.Null()]),
  }),
  selfService: Type.Boolean({ description: 'the customer may change their environments\' plans themselves, to selectable plans' }),
  createdAt: Timestamp, updatedAt: Timestamp,
});

export const Template = Type.Object({
  id: Type.String(), name: Type.String(), version: Type.String(), description: Type.String(),
  ports: Type.Array(Type.Object({ name: Type.String(), port: Type.Integer(), protocol: Type.String() })),
  dataPath: Type.Union([Type.String(), Type.Null()]),
  defaults: Type.Union([Type.Object({ planId: Type.String() }), Type.Null()]),
  source: Type.String(), capabilities: Type.Array(Type.String()),
});

export const EnvironmentState = Type.Union([
  Type.Literal('provisioning'), Type.Literal('running'), Type.Literal('stopped'), Type.Literal('error'),
  Type.Literal('migrating'), Type.Literal('deleting'), Type.Literal('unknown')]);

export const Environment = Type.Object({
  id: Type.String(), name: Type.String(), customerId: Type.String(), nodeId: Type.String(), templateId: Type.String(),
  templateVersion: Type.Union([Type.String(), Type.Null()], { description: 'the template\'s version its container was made from' }),
  planId: Type.String(), state: EnvironmentState,
  health: Type.Union([Type.Literal('starting'), Type.Literal('healthy'), Type.Literal('unhealthy'), Type.Null()],
    { description: 'what the template\'s health check last said; null when the template has none or the environment is not running' }),
  limits: Limits,
  drift: Type.Union([Type.Object({
    detectedAt: Timestamp,
    differences: Type.Array(Type.Object({ field: Type.String(), expected: Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
      actual: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()]) })),
  }), Type.Null()], { description: 'how the container differs from what the panel wants, found by reconciliation' }),
  endpoints: Type.Array(Type.Object({ name: Type.String(), protocol: Type.String(), host: Type.Union([Type.String(), Type.Null()]), port: Type.Integer() })),
  hostname: Type.Union([Type.String(), Type.Null()], { description: 'the default hostname under KURA_BASE_DOMAIN, served by every node\'s edge; null without a base domain or an http port. Never reused' }),
  sftp: Type.Union([Type.Object({ host: Type.String(), port: Type.Integer(), username: Type.String() }), Type.Null()], { description: 'where the environment\'s files are reached over SFTP: log in as username (the environment\'s id) with the customer\'s password or one of their SSH keys; null when the panel\'s SFTP endpoint is off' }),
  createdAt: Timestamp, updatedAt: Timestamp,
});

export const Stats = Type.Object({
  cpuPercent: Type.Number(), memoryMb: Type.Number(), memoryLimitMb: Type.Number(), pids: Type.Integer(),
  netRxBytes: Type.Integer(), netTxBytes: Type.Integer(), diskUsedMb: Type.Union([Type.Number(), Type.Null()]), at: Timestamp,
});

export const OperationAccepted = Type.Object({ operation: Operation });

export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, Type.Ref('Error')]));

export const Domain = Type.Object({
  id: Type.String(), environmentId: Type.String(),
  name: Type.String({ description: 'as entered; Unicode allowed' }), asciiName: Type.String({ description: 'the IDNA form, what DNS and the edge use' }),
  status: Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('failed')],
    { description: 'pending until its owner proves control; active names are served; failed claims say why in reason' }),
  verification: Type.Object({ type: Type.Literal('dns-txt'), name: Type.String(), value: Type.String() },
    { description: 'the TXT record that proves control' }),
  cnameTarget: Type.Union([Type.String(), Type.Null()], { description: 'the other proof: the name as a CNAME to this hostname (with a base domain)' }),
  reason: Type.Union([Type.String(), Type.Null()], { description: 'why the last check did not prove control, or why the claim failed' }),
  checkedAt: Type.Union([Timestamp, Type.Null()]), nextCheckAt: Type.Union([Timestamp, Type.Null()]),
  certificate: Type.Object({
    source: Type.Union([Type.Literal('acme'), Type.Literal('uploaded'), Type.Null()]),
    status: Type.Union([Type.Literal('none'), Type.Literal('pending'), Type.Literal('issued'), Type.Literal('failed')]),
    notAfter: Type.Union([Timestamp, Type.Null()]), error: Type.Union([Type.String(), Type.Null()]),
  }),
  createdAt: Timestamp, updatedAt: Timestamp,
});
