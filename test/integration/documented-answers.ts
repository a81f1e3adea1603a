import { describe, expect, it } from 'vitest';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

interface Answer {
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

interface Operation {
  responses?: Record<string, { content?: Record<string, { schema?: object }> }>;
}

/**
 * Every answer an app gives, checked against the OpenAPI document the same app serves (read
 * back from /docs/json, dereferenced by an independent parser, validated with ajv's 2020-12
 * dialect, which OpenAPI 3.1 uses): an answer whose status is not documented, or whose body the
 * documented schema refuses, is a problem. Answers to routes the document does not list (the
 * documentation itself, unknown URLs) are not checked.
 */
export class DocumentedAnswers {
  private readonly answers: Answer[] = [];

  constructor(private readonly app: FastifyInstance) {
    // onSend sees the serialised body, as the client gets it.
    app.addHook('onSend', async (request, reply, payload) => {
      const route = request.routeOptions.url;
      if (route !== undefined && !route.startsWith('/docs')) {
        this.answers.push({
          method: request.method.toLowerCase(), route, status: reply.statusCode,
          contentType: String(reply.getHeader('content-type') ?? ''), body: typeof payload === 'string' ? payload : '',
        });
      }
      return payload;
    });
  }

  get count(): number {
    return this.answers.length;
  }

  /** Every answer recorded so far that the document does not describe, one sentence each. */
  async problems(): Promise<string[]> {
    const document = (await this.app.inject({ method: 'GET', url: '/docs/json' })).json<object>();
    const dereferenced = (await SwaggerParser.dereference(structuredClone(document) as never)) as { paths: Record<string, Record<string, Operation>> };
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validators = new Map<object, ValidateFunction>();
    const problems: string[] = [];
    for (const a of this.answers) {
      const path = a.route.replace(/:([A-Za-z_]+)/g, '{$1}');
      const where = `${a.method.toUpperCase()} ${path} answered ${a.status}`;
      const operation = dereferenced.paths[path]?.[a.method];
      if (operation === undefined) continue;
      const documented = operation.responses?.[String(a.status)];
      if (documented === undefined) {
        problems.push(`${where}, a status the document does not list`);
        continue;
      }
      const mediaType = Object.keys(documented.content ?? {}).find((type) => a.contentType.startsWith(type));
      const schema = mediaType === undefined ? undefined : documented.content?.[mediaType]?.schema;
      if (schema === undefined) {
        if (a.body !== '' && a.status !== 204) problems.push(`${where} with ${a.contentType}, which the document does not list`);
        continue;
      }
      if (!a.contentType.startsWith('application/json')) continue;
      let validate = validators.get(schema);
      if (validate === undefined) validators.set(schema, (validate = ajv.compile(schema)));
      if (!validate(JSON.parse(a.body))) problems.push(`${where}: ${ajv.errorsText(validate.errors)} in ${a.body.slice(0, 200)}`);
    }
    return problems;
  }
}

/**
 * The last test of an API test file: every answer its tests got matches the document. Declared
 * after the file's other tests, so that it runs once they have all answered.
 */
export function everyAnswerDocumented(answers: () => DocumentedAnswers | undefined, atLeast: number): void {
  describe('api - every answer the tests above got is as the OpenAPI document describes it', () => {
    it(`status and body of each (at least ${atLeast} answers)`, async () => {
      const recorded = answers();
      expect(recorded?.count ?? 0).toBeGreaterThanOrEqual(atLeast);
      expect(await recorded?.problems()).toEqual([]);
    });
  });
}
