import { z } from 'zod';

/**
 * OpenAPI 3.1 for /api/v1, built from the zod schemas the routes validate with: each route file exports
 * the description of its routes (`RouteDoc`s) beside them, naming the same query shapes and body
 * schemas it parses with, and zod writes the JSON Schema (OpenAPI 3.1 uses JSON Schema 2020-12, zod's
 * own target). A test fails when a route the app registers is not described (docs/operations.md).
 */

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseDoc {
  description: string;
  /** @default 'application/json' */
  contentType?: string;
  schema?: z.ZodType;
}

export interface RouteDoc {
  method: Method;
  /** As the app registers it, under /api/v1: `/goals/:idOrName`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Path parameters: the schema each is read with. */
  params?: Record<string, { description: string; schema: z.ZodType }>;
  /** The shape the route passes to `queryParams` (each parameter optional). */
  query?: z.ZodRawShape;
  /** Request bodies by content type. */
  body?: { required?: boolean; content: Record<string, { schema: z.ZodType }> };
  responses: Record<number, ResponseDoc>;
}

/** RFC 9457 problem details: every error of every route (src/http/problem.ts). */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string().describe('the error code, e.g. validation_failed'),
    status: z.number().int(),
    detail: z.string().describe('what is wrong and what to do'),
    details: z.unknown().optional(),
  })
  .meta({ id: 'Problem' });

/** A JSON answer the route describes in prose only (its shape is the service's view type). */
export const jsonObject = z.record(z.string(), z.unknown());

const problems = (description: string): ResponseDoc => ({
  description,
  contentType: 'application/problem+json',
  schema: problemSchema,
});

/** The errors any /api/v1 route can answer, besides its own. */
const commonResponses: Record<number, ResponseDoc> = {
  401: problems('No API key, or an unknown or revoked one.'),
  503: problems('The database is unavailable (retry after the Retry-After seconds).'),
};

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;

/** Hono's `/uploads/:id/rows` as OpenAPI's `/uploads/{id}/rows`. */
export const openApiPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export function openApiDocument(routes: RouteDoc[], { version }: { version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `/api/v1${openApiPath(route.path)}`;
    const parameters = [
      ...Object.entries(route.params ?? {}).map(([name, p]) => ({
        name,
        in: 'path',
        required: true,
        description: p.description,
        schema: strip(jsonSchema(p.schema)),
      })),
      ...Object.entries(route.query ?? {}).map(([name, schema]) => ({
        name,
        in: 'query',
        required: false,
        schema: strip(jsonSchema(schema as z.ZodType)),
      })),
    ];
    const responses = { ...route.responses, ...commonResponses };
    paths[path] ??= {};
    paths[path][route.method] = {
      operationId: operationId(route),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: route.body.required ?? true,
              content: Object.fromEntries(
                Object.entries(route.body.content).map(([type, c]) => [
                  type,
                  { schema: strip(jsonSchema(c.schema)) },
                ]),
              ),
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries(responses).map(([status, r]) => [
          status,
          {
            description: r.description,
            ...(r.schema
              ? {
                  content: { [r.contentType ?? 'application/json']: { schema: strip(jsonSchema(r.schema)) } },
                }
              : {}),
          },
        ]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'closeloop API',
      version,
      description:
        'Offline conversion tracking for Microsoft Advertising. Every /api/v1 route needs `Authorization: Bearer <key>` (create one with `closeloop keys create --name NAME`). Errors are RFC 9457 problem details.',
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'An API key from closeloop keys create' },
      },
    },
    paths,
  };
}

/** A schema inside a document: without its own $schema line. */
function strip(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _, ...rest } = schema;
  return rest;
}

function operationId(route: RouteDoc): string {
  const words = route.path
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `by-${part.slice(1)}` : part.replace(/\.\w+$/, '')));
  return [route.method, ...words].join('-').replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
}
