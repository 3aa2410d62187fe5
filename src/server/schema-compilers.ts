/**
 * Fastify's schema compilers, loaded on first use instead of at `Fastify()`.
 *
 * Why: Fastify's default schema controller `require`s its validator compiler (Ajv) and its
 * serializer compiler (fast-json-stringify, which loads Ajv too) as soon as a server is created,
 * whether or not a route has a schema. certkeeper's faces validate their input by hand and
 * declare no Fastify route schemas (their OpenAPI documents are data, see openapi.ts), so that
 * is about 0.1 s of start-up and several MB of heap for code that never runs.
 *
 * Contract: each builder loads Fastify's own default (the same packages, resolved from Fastify's
 * directory, so the versions Fastify was installed with) the first time Fastify asks for it (a
 * route with a schema, `request.validateInput`, `reply.serializeInput`), then delegates to it
 * with the same arguments; one instance per server, as Fastify's default. One difference to
 * know: Fastify treats builders passed in `compilersFactory` as custom, and for a custom
 * validator it compiles `schema.headers` as written instead of lower-casing its property names
 * first. No route uses a headers schema; one that does should write the names in lower case.
 */
import type { FastifyServerOptions } from 'fastify';
import { createRequire } from 'node:module';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>;
type SerializerFactory = NonNullable<CompilersFactory['buildSerializer']>;

/** `require` as Fastify itself resolves it. */
function fastifyRequire(id: string): unknown {
  return createRequire(import.meta.resolve('fastify'))(id);
}

/** A builder that creates Fastify's default one (`selector()`) on its first call, then delegates. */
function onFirstCall<F extends (...args: never[]) => unknown>(packageName: string): F {
  let builder: F | null = null;
  const delegate = (...args: Parameters<F>) => {
    builder ??= (fastifyRequire(packageName) as () => F)();
    return builder(...args);
  };
  return delegate as unknown as F;
}

/** Builders for `Fastify({ schemaController: { compilersFactory } })`; call once per server. */
export function lazySchemaCompilers(): Required<CompilersFactory> {
  return {
    buildValidator: onFirstCall<ValidatorFactory>('@fastify/ajv-compiler'),
    buildSerializer: onFirstCall<SerializerFactory>('@fastify/fast-json-stringify-compiler'),
  };
}
