import { readFile } from 'node:fs/promises';

/** Where `npm run generate` writes the OpenAPI document (scripts/protoc-gen-openapi.ts). */
export const OPENAPI_FILE = new URL('../../../gen/openapi.json', import.meta.url);

let cached: Promise<Buffer> | undefined;

/** The committed OpenAPI 3.1 document, read once. Rejects when gen/openapi.json is missing. */
export function openApiDocument(): Promise<Buffer> {
  cached ??= readFile(OPENAPI_FILE).catch((e: unknown) => {
    cached = undefined;
    throw e;
  });
  return cached;
}
