import { Ajv, type ValidateFunction } from 'ajv';
import type { Static, TSchema } from '@sinclair/typebox';
import { BadRequestError } from '../../lib/errors.js';
import { describeError, failingField } from '../validation.js';

const ajv = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

/**
 * Checks a form, once converted to the API's shape, against the API's own schema, so a
 * form and the API refuse exactly the same input with the same message.
 */
export function checkForm<T extends TSchema>(schema: T, value: unknown): Static<T> {
  let validate = compiled.get(schema);
  if (!validate) compiled.set(schema, validate = ajv.compile(schema));
  if (!validate(value)) {
    const first = validate.errors![0]!;
    throw new BadRequestError(describeError(first, 'the form'), { field: failingField(first) });
  }
  return value as Static<T>;
}

/** Form fields are text: '' means "not given", numbers are parsed, checkboxes are present or absent. */
export const form = {
  text(body: unknown, name: string): string | undefined {
    const v = raw(body, name);
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  },
  number(body: unknown, name: string): number | string | undefined {
    const v = form.text(body, name);
    if (v === undefined) return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : v;
  },
  checked(body: unknown, name: string): boolean {
    return raw(body, name) !== undefined;
  },
};

function raw(body: unknown, name: string): string | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** Drops undefined fields, so optional ones are simply absent. */
export function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
