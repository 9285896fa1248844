import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import {
  ApiKeyService, CreateApiKeyResponseSchema, ListApiKeysResponseSchema, RevokeApiKeyResponseSchema,
} from '../../gen/taskd/v1/auth_service_pb.js';
import type { ApiKeyApi } from '../api/api-key-api.js';
import { apiKeyToPb, roleFromPb } from './convert/api-key.js';
import { dateOf } from './convert/json.js';
import { identityOf } from './identity-context.js';

/** ApiKeyService over the domain ApiKeyApi: conversion only; the caller comes from the auth interceptor. */
export function apiKeyServiceImpl(api: ApiKeyApi): ServiceImpl<typeof ApiKeyService> {
  return {
    async createApiKey(req, ctx) {
      const r = await api.create(identityOf(ctx), {
        name: req.name, role: roleFromPb(req.role), namespaces: req.namespaces, expiresAt: dateOf(req.expiresAt),
      });
      return create(CreateApiKeyResponseSchema, { apiKey: apiKeyToPb(r.key), secret: r.secret });
    },
    async listApiKeys(req, ctx) {
      const r = await api.list(identityOf(ctx), { includeRevoked: req.includeRevoked, pageSize: req.pageSize, pageToken: req.pageToken });
      return create(ListApiKeysResponseSchema, { apiKeys: r.keys.map(apiKeyToPb), nextPageToken: r.nextPageToken });
    },
    async revokeApiKey(req, ctx) {
      return create(RevokeApiKeyResponseSchema, { apiKey: apiKeyToPb(await api.revoke(identityOf(ctx), req.id)) });
    },
  };
}
