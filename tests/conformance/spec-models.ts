/**
 * The REST specs in machine-readable form, from the SDK packages Microsoft generates from them: each operation's
 * request and response models as @azure/core-client mappers (serialized names, `readOnly`, `required`,
 * `nullable`, enum `allowedValues`). The task's own SDK (@azure/arm-appservice 19) is generated for api-version
 * 2025-05-01 and ships no mappers, so the packages here are pinned to the versions the task sends:
 *
 * | package (alias in package.json) | api-version |
 * |---|---|
 * | `arm-appservice-2024-11-01` = @azure/arm-appservice 17.0.0 | Microsoft.Web 2024-11-01 |
 * | @azure/arm-authorization 9.0.0 (the task's own) | Microsoft.Authorization 2022-04-01 |
 * | `arm-msi-2023-01-31` = @azure/arm-msi 2.1.0 | Microsoft.ManagedIdentity 2023-01-31 |
 *
 * The packages keep their mappers private; every operation hands its spec (path, method, body and response
 * mappers, the serializer with every model) to `sendOperationRequest`, so a client whose `sendOperationRequest`
 * records the spec and stops yields it without sending anything.
 */
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import type { CompositeMapper, Mapper, OperationSpec } from '@azure/core-client';
import { WebSiteManagementClient } from 'arm-appservice-2024-11-01';
import { ManagedServiceIdentityClient } from 'arm-msi-2023-01-31';

const credential = {
  getToken: async () => ({ token: 'unused', expiresOnTimestamp: Date.now() + 3_600_000 }),
};

class Captured extends Error {
  constructor(readonly spec: OperationSpec) {
    super('captured');
  }
}

interface SpecSource {
  sendOperationRequest: (args: unknown, spec: OperationSpec) => Promise<unknown>;
}

function capturing<T extends object>(client: T): T {
  (client as unknown as SpecSource).sendOperationRequest = async (_args, spec) => {
    throw new Captured(spec);
  };
  return client;
}

export const web = capturing(new WebSiteManagementClient(credential, 'sub'));
export const authorization = capturing(new AuthorizationManagementClient(credential, 'sub'));
export const msi = capturing(new ManagedServiceIdentityClient(credential, 'sub'));

/** The spec of the operation `call` starts (a promise, a poller promise or a pager). */
export async function specOf(call: () => unknown): Promise<OperationSpec> {
  try {
    const started = call() as { next?: () => Promise<unknown> } | Promise<unknown>;
    if (started && typeof (started as { next?: unknown }).next === 'function')
      await (started as { next: () => Promise<unknown> }).next();
    else await started;
  } catch (e: unknown) {
    if (e instanceof Captured) return e.spec;
    throw e;
  }
  throw new Error('the call sent no operation');
}

export type Shape = 'request' | 'response';

/**
 * What a wire body breaks in a model: a property the model does not define (`unknown`), a read-only one sent in a
 * request, a missing required one (requests), a null where the model does not allow it, a value outside an enum.
 * `at` is the JSON path. Property names are compared as sent (ARM's JSON is case-sensitive for property names).
 */
export interface Violation {
  at: string;
  problem: 'unknown' | 'read-only' | 'required' | 'null' | 'enum' | 'type';
  detail?: string;
}

/** The models by class name (every operation's serializer carries them all). */
type Models = Record<string, Mapper>;

export function check(
  body: unknown,
  mapper: Mapper,
  models: Models,
  shape: Shape,
  knownValues: Record<string, readonly string[]> = {},
): Violation[] {
  const out: Violation[] = [];
  visit(body, mapper, models, shape, '$', out);
  for (const [path, values] of Object.entries(knownValues)) {
    const value = path
      .split('.')
      .slice(1)
      .reduce<unknown>(
        (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
        body,
      );
    if (value !== undefined && value !== null && !values.includes(value as string))
      out.push({
        at: path,
        problem: 'enum',
        detail: `${JSON.stringify(value)} is not one of ${values.join(', ')}`,
      });
  }
  return out;
}

function resolve(mapper: Mapper, models: Models): Mapper {
  if (mapper.type.name === 'Composite' && !(mapper as CompositeMapper).type.modelProperties) {
    const named = models[(mapper as CompositeMapper).type.className ?? ''];
    if (named) return { ...named, ...mapper, type: named.type };
  }
  return mapper;
}

function visit(
  value: unknown,
  raw: Mapper,
  models: Models,
  shape: Shape,
  at: string,
  out: Violation[],
): void {
  const mapper = resolve(raw, models);
  if (value === null) {
    // Responses: Azure sends null for unset properties, and the SDKs read it as absent.
    if (shape === 'request' && !mapper.nullable)
      out.push({ at, problem: 'null', detail: 'the model does not allow null here' });
    return;
  }
  if (value === undefined) return;
  const type = mapper.type as { name: string; allowedValues?: unknown[]; element?: Mapper; value?: Mapper };
  switch (type.name) {
    case 'Composite':
      if (typeof value !== 'object' || Array.isArray(value)) {
        out.push({ at, problem: 'type', detail: 'expected an object' });
        return;
      }
      composite(value as Record<string, unknown>, mapper as CompositeMapper, models, shape, at, out);
      return;
    case 'Sequence':
      if (!Array.isArray(value)) out.push({ at, problem: 'type', detail: 'expected an array' });
      else if (type.element)
        for (const [i, v] of value.entries())
          visit(v, type.element as Mapper, models, shape, `${at}[${i}]`, out);
      return;
    case 'Dictionary':
      if (typeof value !== 'object' || Array.isArray(value))
        out.push({ at, problem: 'type', detail: 'expected a map' });
      else if (type.value)
        for (const [k, v] of Object.entries(value as object))
          visit(v, type.value, models, shape, `${at}[${JSON.stringify(k)}]`, out);
      return;
    case 'Enum':
      if (type.allowedValues && !type.allowedValues.includes(value))
        out.push({
          at,
          problem: 'enum',
          detail: `${JSON.stringify(value)} is not one of ${type.allowedValues.join(', ')}`,
        });
      return;
    case 'String':
    case 'Uuid':
    case 'DateTime':
    case 'Date':
    case 'TimeSpan':
      if (typeof value !== 'string') out.push({ at, problem: 'type', detail: 'expected a string' });
      return;
    case 'Boolean':
      if (typeof value !== 'boolean') out.push({ at, problem: 'type', detail: 'expected a boolean' });
      return;
    case 'Number':
      if (typeof value !== 'number') out.push({ at, problem: 'type', detail: 'expected a number' });
      return;
    default:
      return;
  }
}

/** A model's properties as a tree of wire names (`properties.siteConfig` nests under `properties`). */
interface Node {
  mapper?: Mapper;
  children: Map<string, Node>;
}

function tree(mapper: CompositeMapper): Node {
  const root: Node = { children: new Map() };
  for (const property of Object.values(mapper.type.modelProperties ?? {})) {
    const parts = (property.serializedName ?? '').split(/(?<!\\)\./).map((p) => p.replace(/\\\./g, '.'));
    let node = root;
    for (const part of parts) {
      let next = node.children.get(part);
      if (!next) {
        next = { children: new Map() };
        node.children.set(part, next);
      }
      node = next;
    }
    node.mapper = property;
  }
  return root;
}

function composite(
  value: Record<string, unknown>,
  mapper: CompositeMapper,
  models: Models,
  shape: Shape,
  at: string,
  out: Violation[],
): void {
  walk(value, tree(mapper), !!mapper.type.additionalProperties, models, shape, at, out);
}

function walk(
  value: Record<string, unknown>,
  node: Node,
  open: boolean,
  models: Models,
  shape: Shape,
  at: string,
  out: Violation[],
): void {
  for (const [key, v] of Object.entries(value)) {
    const child = node.children.get(key);
    const path = `${at}.${key}`;
    if (!child) {
      if (!open) out.push({ at: path, problem: 'unknown' });
      continue;
    }
    if (child.mapper) {
      if (shape === 'request' && child.mapper.readOnly) out.push({ at: path, problem: 'read-only' });
      visit(v, child.mapper, models, shape, path, out);
    } else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      // A flattening envelope (`properties`): its members are the model's.
      walk(v as Record<string, unknown>, child, false, models, shape, path, out);
    } else if (v !== null && v !== undefined)
      out.push({ at: path, problem: 'type', detail: 'expected an object' });
  }
  if (shape !== 'request') return;
  for (const [key, child] of node.children) {
    if (
      child.mapper?.required &&
      !child.mapper.readOnly &&
      value[key] === undefined &&
      !isConstant(child.mapper)
    )
      out.push({ at: `${at}.${key}`, problem: 'required' });
    if (!child.mapper && value[key] === undefined && hasRequired(child))
      out.push({ at: `${at}.${key}`, problem: 'required' });
  }
}

function isConstant(mapper: Mapper): boolean {
  return !!(mapper as { isConstant?: boolean }).isConstant;
}

function hasRequired(node: Node): boolean {
  for (const child of node.children.values()) {
    if (child.mapper?.required && !child.mapper.readOnly) return true;
    if (!child.mapper && hasRequired(child)) return true;
  }
  return false;
}

/** The request body model of an operation (undefined when it takes none). */
export function requestModel(spec: OperationSpec): Mapper | undefined {
  return spec.requestBody?.mapper;
}

/** The body model of one response status (else the first 2xx with a body). */
export function responseModel(spec: OperationSpec, status: number): Mapper | undefined {
  return spec.responses[status]?.bodyMapper ?? spec.responses[200]?.bodyMapper;
}

export function modelsOf(spec: OperationSpec): Models {
  return (spec.serializer as unknown as { modelMappers: Models }).modelMappers;
}
