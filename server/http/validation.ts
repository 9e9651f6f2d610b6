import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Bodies are checked strictly: no type coercion ("2" is not a number) and no silent
 * dropping of unknown fields. Query strings and path parameters are text on the wire,
 * so those are coerced.
 */
const strict = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
const lenient = new Ajv({ coerceTypes: true, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strict : lenient;
  return ajv.compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;
};

/** The name of the field an Ajv error is about, e.g. `limits.cpus` or `name`. */
export function failingField(e: ErrorObject): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const params = e.params as { missingProperty?: string; additionalProperty?: string };
  const leaf = params.missingProperty ?? params.additionalProperty;
  return [base, leaf].filter(Boolean).join('.') || '(body)';
}

export function describeError(e: ErrorObject, context: string): string {
  const field = failingField(e);
  const params = e.params as { additionalProperty?: string };
  if (params.additionalProperty) return `unknown field ${field} in ${context}`;
  if (e.keyword === 'required') return `${field} is required in ${context}`;
  return `${field} ${e.message ?? 'is invalid'}`;
}
