/**
 * The route schemas are JSON Schema draft-07, the dialect ajv validates with: there an
 * exclusive bound is a number (`exclusiveMinimum: 0`). OpenAPI 3.0 took its schema
 * keywords from draft-04, where the same bound is `minimum: 0, exclusiveMinimum: true`,
 * and ajv 8 refuses that form outright (it has no draft-04 mode). So the routes keep the
 * draft-07 form, which decides validation and its messages ("must be > 0"), and only the
 * document is given the 3.0 form.
 */

/** Keywords whose values are data, not schemas: nothing inside them is rewritten. */
const LITERALS = new Set(['default', 'example', 'examples', 'enum', 'const']);
/** Keywords whose values map names (properties, status codes...) to schemas. */
const NAME_MAPS = new Set(['properties', 'patternProperties', 'definitions', '$defs', 'response']);

type Schema = Record<string, unknown>;

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A copy of a route schema (or any part of one) with draft-07 exclusive bounds written the OpenAPI 3.0 way. */
export function toOpenApi30<T>(schema: T): T {
  return convert(schema, false) as T;
}

function convert(node: unknown, nameMap: boolean): unknown {
  if (Array.isArray(node)) return node.map((item) => convert(item, false));
  if (!isSchema(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (nameMap) out[key] = convert(value, false);
    else out[key] = LITERALS.has(key) ? value : convert(value, NAME_MAPS.has(key));
  }
  if (!nameMap) {
    // Both bounds may be given; the tighter one is kept, as draft-07 applies both.
    rewrite(out, 'minimum', 'exclusiveMinimum', (exclusive, inclusive) => exclusive >= inclusive);
    rewrite(out, 'maximum', 'exclusiveMaximum', (exclusive, inclusive) => exclusive <= inclusive);
  }
  return out;
}

function rewrite(schema: Schema, inclusiveKey: string, exclusiveKey: string, exclusiveIsTighter: (exclusive: number, inclusive: number) => boolean): void {
  const exclusive = schema[exclusiveKey];
  if (typeof exclusive !== 'number') return;
  const inclusive = schema[inclusiveKey];
  if (typeof inclusive === 'number' && !exclusiveIsTighter(exclusive, inclusive)) {
    delete schema[exclusiveKey];
    return;
  }
  schema[inclusiveKey] = exclusive;
  schema[exclusiveKey] = true;
}
