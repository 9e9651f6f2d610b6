import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { toOpenApi30 } from '../../server/http/openapi-schema.js';

describe('route schemas in the OpenAPI 3.0 document', () => {
  it('writes a numeric exclusive bound as the inclusive keyword plus true', () => {
    expect(toOpenApi30({ type: 'number', exclusiveMinimum: 0, maximum: 1024 }))
      .toEqual({ type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 1024 });
    expect(toOpenApi30({ type: 'number', exclusiveMaximum: 1 })).toEqual({ type: 'number', maximum: 1, exclusiveMaximum: true });
  });

  it('keeps the tighter bound when both are given, as draft-07 applies both', () => {
    expect(toOpenApi30({ minimum: 5, exclusiveMinimum: 0 })).toEqual({ minimum: 5 });
    expect(toOpenApi30({ minimum: 0, exclusiveMinimum: 0 })).toEqual({ minimum: 0, exclusiveMinimum: true });
    expect(toOpenApi30({ maximum: 5, exclusiveMaximum: 10 })).toEqual({ maximum: 5 });
    expect(toOpenApi30({ maximum: 10, exclusiveMaximum: 5 })).toEqual({ maximum: 5, exclusiveMaximum: true });
  });

  it('reaches nested schemas, leaves data and property names alone, and does not touch its input', () => {
    const route = {
      body: { type: 'object', properties: { exclusiveMinimum: { type: 'number', exclusiveMinimum: 0 } },
        default: { exclusiveMinimum: 3 } },
      response: { 200: { anyOf: [{ type: 'number', exclusiveMaximum: 9 }] } },
    };
    const before = structuredClone(route);
    expect(toOpenApi30(route)).toEqual({
      body: { type: 'object', properties: { exclusiveMinimum: { type: 'number', minimum: 0, exclusiveMinimum: true } },
        default: { exclusiveMinimum: 3 } },
      response: { 200: { anyOf: [{ type: 'number', maximum: 9, exclusiveMaximum: true }] } },
    });
    expect(route).toEqual(before);
  });

  it('is needed: ajv, which validates the routes, refuses the OpenAPI 3.0 form', () => {
    const ajv = new Ajv({ strict: false });
    expect(() => ajv.compile({ type: 'number', minimum: 0, exclusiveMinimum: true })).toThrow(/exclusiveMinimum must be number/);
    const check = ajv.compile({ type: 'number', exclusiveMinimum: 0 });
    expect([check(0), check(Number.MIN_VALUE), check(1)]).toEqual([false, true, true]);
  });
});
