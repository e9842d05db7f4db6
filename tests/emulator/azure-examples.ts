/**
 * The wire shapes of the official Azure REST API examples (Azure/azure-rest-api-specs), which the emulator's
 * responses are checked against. data/azure-example-shapes.json keeps, per example file, its operation, its
 * source (spec path at the commit it was read from) and each response body's structure: every key and nesting
 * as published, with leaf values reduced to their type ("string", 0, false, null) and arrays to their first
 * item. Only the structure is compared, so only the structure is kept.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ExampleShape {
  operationId: string;
  /** Method and path template, host and api-version omitted. */
  request: string;
  /** https://github.com/Azure/azure-rest-api-specs/blob/<commit>/<path> */
  source: string;
  /** Response body structure by HTTP status (statuses without a body are absent). */
  responses: Record<string, Record<string, unknown>>;
}

let cache: Record<string, ExampleShape> | undefined;

export function exampleShapes(): Record<string, ExampleShape> {
  cache ??= JSON.parse(readFileSync(join(__dirname, 'data', 'azure-example-shapes.json'), 'utf8')) as Record<
    string,
    ExampleShape
  >;
  return cache;
}

/** The 200 (else 201) response body structure of an example, e.g. `Microsoft.Web/GetWebApp.json`. */
export function exampleBody(relative: string): Record<string, unknown> {
  const example = exampleShapes()[relative];
  if (!example)
    throw new Error(`no official example '${relative}' in tests/emulator/data/azure-example-shapes.json`);
  const body = example.responses['200'] ?? example.responses['201'];
  if (!body) throw new Error(`no 200/201 body in ${relative}`);
  return body;
}
