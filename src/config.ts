import { type AuthConfig, authConfig, checkAuth } from './config/auth.js';
import { ConfigError } from './config/error.js';
import {
  checkTrustedDocuments,
  type FrontDoorConfig,
  frontDoorConfig,
  type TrustedDocumentsConfig,
  trustedDocumentsConfig,
} from './config/front-door.js';
import { type Resolved, resolveSettings } from './config/resolve.js';
import { CHECKS, type SETTINGS } from './config/settings.js';
import { type TracingConfig, tracingConfig } from './config/tracing.js';
import type { ProviderEndpoints } from './config/upstreams.js';

// Environment and flags → one validated, frozen Config. Only src/main.ts passes process.env/argv in;
// everything else receives the Config it needs. Every setting is one row of src/config/settings.ts,
// and Config's type is that table's shape. An invalid value becomes a ConfigError whose message names
// the setting, what is allowed and what was given, so main can print one line and exit 2.

export type { AuthConfig } from './config/auth.js';
export { ConfigError } from './config/error.js';
export type { FrontDoorConfig, TrustedDocumentsConfig } from './config/front-door.js';
export type { TracesSampler, TracingConfig } from './config/tracing.js';
export {
  type ProviderEndpointOverride,
  type ProviderEndpoints,
  UPSTREAMS,
  type UpstreamName,
} from './config/upstreams.js';

/**
 * The table's values, with what the auth rows mean taken together (src/config/auth.ts) and what the
 * SDK makes of the OTEL_* rows (src/config/tracing.ts).
 */
export type Config = Omit<Resolved<typeof SETTINGS>, 'auth' | 'frontDoor' | 'trustedDocuments'> & {
  auth: AuthConfig;
  frontDoor: FrontDoorConfig;
  trustedDocuments: TrustedDocumentsConfig;
  tracing: TracingConfig;
};
export type ProviderConfig = Config['providers'][keyof Config['providers']];

export interface LoadConfigInput {
  env?: Record<string, string | undefined>;
  argv?: readonly string[];
  /**
   * Where providers are reached when no URL is configured (the sandbox's endpoints, once it listens),
   * with the demo keys they accept: used only where no URL or key is set. A keyed provider that gets a
   * key this way is enabled unless MARKETGRAPH_<P>_ENABLED said otherwise.
   */
  endpoints?: ProviderEndpoints;
}

export function loadConfig(input: LoadConfigInput = {}): Config {
  const values = resolveSettings({
    env: input.env ?? {},
    argv: input.argv ?? [],
    endpoints: input.endpoints ?? {},
  });
  for (const problem of [checkAuth(values.auth), checkTrustedDocuments(values.trustedDocuments)])
    if (problem) throw new ConfigError(problem);
  const config: Config = {
    ...values,
    auth: authConfig(values.auth, values.profile),
    frontDoor: frontDoorConfig(values.frontDoor, values.profile),
    trustedDocuments: trustedDocumentsConfig(values.trustedDocuments, values.profile),
    tracing: tracingConfig(values.otel),
  };
  for (const check of CHECKS) {
    const problem = check(config);
    if (problem) throw new ConfigError(problem);
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
