import type { Interceptor } from '@connectrpc/connect';
import { ApiKeyVerifier } from '../auth/api-key-verifier.js';
import { Authenticator } from '../auth/authenticator.js';
import { JwtVerifier } from '../auth/jwt-verifier.js';
import { TokenSource } from '../auth/mint-token.js';
import type { RoleName } from '../auth/identity.js';
import { authEnabled, type Config } from '../config/config.js';
import { RedisSubmitLimiter } from '../limits/redis-submit-limiter.js';
import { StreamCap } from '../limits/stream-cap.js';
import { MemorySubmitLimiter } from '../limits/submit-limiter.js';
import { SubmitRateLimit } from '../limits/submit-rate-limit.js';
import { authInterceptor } from '../rpc/auth-interceptor.js';
import { limitsInterceptor } from '../rpc/limits-interceptor.js';
import type { Base } from '../shared/base.js';
import type { Db } from '../storage/db.js';

/** What every RPC passes before its handler, and what else needs the same credentials. */
export interface RpcEdge {
  /** Authentication and authorization, then limits; the server puts its error interceptor outside them. */
  interceptors: Interceptor[];
  authenticator: Authenticator;
  /** For plain HTTP resources (e.g. /openapi.json): any authenticated identity. */
  authenticateHttp: (headers: Headers) => Promise<void>;
  /** Applies changed limits (a config reload) to the next RPC on; open streams are never closed for it. */
  setLimits(c: Pick<Config, 'TASKD_SUBMIT_RATE' | 'TASKD_SUBMIT_BURST' | 'TASKD_MAX_STREAMS_PER_IDENTITY'>): void;
  close(): Promise<void>;
}

/**
 * Builds the edge from the config: JWT verification when a verifier is configured (else
 * everyone is anonymous: loopback only, see requireAuthBeyondLoopback), API keys from
 * `db`, the submission rate limit (in Redis when TASKD_REDIS_URL is set and `sharedLimits`,
 * else in process) and the open-stream cap. The limits can change while it serves
 * (`setLimits`); a limit turned on from 0 builds its limiter then.
 */
export function buildRpcEdge(base: Base, config: Config, opts: { db?: Db; sharedLimits: boolean }): RpcEdge {
  const jwt = authEnabled(config)
    ? new JwtVerifier({
        hs256Secret: config.TASKD_AUTH_HS256_SECRET,
        jwks: config.TASKD_AUTH_JWKS_URL ? { url: config.TASKD_AUTH_JWKS_URL } : config.TASKD_AUTH_JWKS_FILE ? { file: config.TASKD_AUTH_JWKS_FILE } : undefined,
        jwksAlgorithms: config.TASKD_AUTH_JWKS_ALGORITHMS, issuer: config.TASKD_AUTH_ISSUER, audience: config.TASKD_AUTH_AUDIENCE,
        clockSkewMs: config.TASKD_AUTH_CLOCK_SKEW_MS, clock: base.clock,
      })
    : undefined;
  const apiKeys = opts.db ? new ApiKeyVerifier({ db: opts.db, cacheMs: config.TASKD_AUTH_API_KEY_CACHE_MS, clock: base.clock }) : undefined;
  const authenticator = new Authenticator({ jwt, apiKeys });
  const redisUrl = opts.sharedLimits ? config.TASKD_REDIS_URL : undefined;
  const submit = new SubmitRateLimit(
    (limit) => redisUrl
      ? new RedisSubmitLimiter(limit, { url: redisUrl, prefix: config.TASKD_REDIS_PREFIX, logger: base.logger })
      : new MemorySubmitLimiter(limit, base.clock),
    { rate: config.TASKD_SUBMIT_RATE, burst: config.TASKD_SUBMIT_BURST },
  );
  const streams = new StreamCap(config.TASKD_MAX_STREAMS_PER_IDENTITY);
  return {
    interceptors: [authInterceptor(authenticator), limitsInterceptor({ submit, streams })],
    authenticator,
    authenticateHttp: async (headers) => {
      await authenticator.authenticate(headers);
    },
    setLimits: (c) => {
      submit.set({ rate: c.TASKD_SUBMIT_RATE, burst: c.TASKD_SUBMIT_BURST });
      streams.setMax(c.TASKD_MAX_STREAMS_PER_IDENTITY);
    },
    close: () => submit.close(),
  };
}

/**
 * The credential a taskd process sends to another: `fixed` when configured, else HS256
 * tokens minted with TASKD_AUTH_HS256_SECRET for `role` in every namespace, `ttlMs` (ten
 * minutes) each; none when authentication is off. Throws when authentication is on and neither
 * exists (JWKS only: configure `fixedKey`).
 */
export function internalCredential(
  config: Config, clock: Base['clock'], p: { role: RoleName; subject: string; fixed: string | undefined; fixedKey: string; ttlMs?: number },
): TokenSource {
  if (p.fixed) return new TokenSource({ fixed: p.fixed, now: () => clock.now() });
  if (!authEnabled(config)) return new TokenSource({ now: () => clock.now() });
  if (!config.TASKD_AUTH_HS256_SECRET) {
    throw new Error(`invalid configuration: ${p.fixedKey} is required when authentication uses a JWKS only (a ${p.role} JWT or API key; docs/auth.md)`);
  }
  return new TokenSource({
    now: () => clock.now(),
    mint: {
      secret: config.TASKD_AUTH_HS256_SECRET, issuer: config.TASKD_AUTH_ISSUER, audience: config.TASKD_AUTH_AUDIENCE[0] as string,
      subject: p.subject, roles: [p.role], namespaces: ['*'], ttlMs: p.ttlMs ?? 10 * 60_000,
    },
  });
}
