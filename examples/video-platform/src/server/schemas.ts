/** JSON schemas of the wire format (fastify compiles them with ajv once, at start-up). */

const id = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:@-]+$' } as const;
const token = { type: 'string', minLength: 1, maxLength: 64 } as const;

export const recommendBodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    userId: id,
    /** Client-supplied request id (tracing; also makes exploration draws replayable). */
    requestId: id,
    limit: { type: 'integer', minimum: 1, maximum: 100 },
    query: { type: 'string', maxLength: 512 },
    itemId: id,
    debug: { type: 'boolean' },
    context: {
      type: 'object',
      additionalProperties: false,
      properties: { region: token, device: token, language: token },
    },
  },
} as const;

/** Events are validated one by one by the event schema of @recspine/features; here only the envelope. */
export const eventsBodySchema = {
  oneOf: [
    { type: 'array', maxItems: 1000 },
    { type: 'object', required: ['events'], additionalProperties: false, properties: { events: { type: 'array', maxItems: 1000 } } },
  ],
} as const;

export const userParamsSchema = {
  type: 'object',
  required: ['id'],
  properties: { id },
} as const;
