import { z } from 'zod';
import { bool, type GroupValues, nonEmpty, oneOf, type Profile, setting } from './setting.js';

// The front door's rows (CORS, introspection, GraphiQL, trusted documents) and what they mean taken
// together: an unset origin list means "localhost in the sandbox", and the trusted-documents mode
// defaults by profile while an explicit `enforce` without a manifest is refused.

export interface FrontDoorConfig {
  /**
   * Origins answered with CORS headers (exact `scheme://host[:port]`; `*` = any origin, without
   * credentials); origins not listed get no CORS headers, so browsers keep them out.
   */
  corsOrigins: readonly string[];
  /** Sandbox default: any http://localhost, 127.0.0.1 or [::1] origin, whatever its port. */
  corsLocalhost: boolean;
  introspection: boolean;
  graphiql: boolean;
}

export interface TrustedDocumentsConfig {
  /** JSON file mapping `sha256:<hex>` to a document; none: no manifest. */
  file: string | undefined;
  /** enforce: other documents only for callers with scope query:any; allow: any document. */
  mode: 'enforce' | 'allow';
}

const corsOrigins = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== ''),
  )
  .refine((list) => list.every((o) => o === '*' || (URL.canParse(o) && new URL(o).origin === o)), {
    message: 'must be a comma-separated list of origins such as https://app.example.com, or *',
  });

export const FRONT_DOOR_SETTINGS = {
  corsOrigins: setting<string[] | undefined>({
    env: 'MARKETGRAPH_CORS_ORIGINS',
    parse: corsOrigins,
    default: undefined,
    shown: 'sandbox: any `http://localhost` / `127.0.0.1` / `[::1]` origin; live: none',
    doc: 'browser origins answered with CORS headers, comma-separated (`*`: any origin, without credentials); others get none',
  }),
  introspection: setting({
    env: 'MARKETGRAPH_INTROSPECTION',
    parse: bool,
    default: ({ profile }) => profile === 'sandbox',
    shown: 'sandbox: `true`; live: `false`',
    doc: 'answer introspection queries (`__schema`, `__type`)',
  }),
  graphiql: setting({
    env: 'MARKETGRAPH_GRAPHIQL',
    parse: bool,
    default: ({ profile }) => profile === 'sandbox',
    shown: 'sandbox: `true`; live: `false`',
    doc: 'serve GraphiQL at `/graphql` to browsers',
  }),
};

export const TRUSTED_DOCUMENT_SETTINGS = {
  file: setting<string | undefined>({
    env: 'MARKETGRAPH_TRUSTED_DOCUMENTS',
    parse: nonEmpty,
    default: undefined,
    shown: '—',
    doc: 'trusted-documents manifest: JSON mapping `sha256:<hash>` to a document (`npm run trusted-documents -- <folder>` builds one); requests may send `documentId` or an APQ hash',
  }),
  mode: setting<'enforce' | 'allow' | undefined>({
    env: 'MARKETGRAPH_TRUSTED_DOCUMENTS_MODE',
    parse: oneOf(['enforce', 'allow']),
    default: undefined,
    shown: 'sandbox: `allow`; live: `enforce`',
    doc: '`enforce`: only documents of the manifest, except for keys with scope `query:any`; `allow`: any document (needs a manifest to mean anything)',
  }),
};

export function frontDoorConfig(
  values: GroupValues<typeof FRONT_DOOR_SETTINGS>,
  profile: Profile,
): FrontDoorConfig {
  return {
    corsOrigins: values.corsOrigins ?? [],
    corsLocalhost: values.corsOrigins === undefined && profile === 'sandbox',
    introspection: values.introspection,
    graphiql: values.graphiql,
  };
}

export function trustedDocumentsConfig(
  values: GroupValues<typeof TRUSTED_DOCUMENT_SETTINGS>,
  profile: Profile,
): TrustedDocumentsConfig {
  return { file: values.file, mode: values.mode ?? (profile === 'live' ? 'enforce' : 'allow') };
}

/** `enforce` asked for without a manifest would run any document: refuse it instead. */
export function checkTrustedDocuments(
  values: GroupValues<typeof TRUSTED_DOCUMENT_SETTINGS>,
): string | undefined {
  return values.mode === 'enforce' && !values.file
    ? 'MARKETGRAPH_TRUSTED_DOCUMENTS_MODE: enforce needs MARKETGRAPH_TRUSTED_DOCUMENTS (the manifest)'
    : undefined;
}
