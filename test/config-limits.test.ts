import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

// The request and document limits (README.md "Limits"): defaults, overrides and their ranges.

describe('loadConfig: limits', () => {
  it('has the documented defaults', () => {
    expect(loadConfig({ env: {} }).limits).toEqual({
      maxPageSize: 250,
      maxCost: 50,
      executionTimeoutMs: 15_000,
      maxUpstreamCallsPerRequest: 100,
      maxCandleRowsPerRequest: 50_000,
      maxQuotaSharePerRequest: 25,
      maxBodyBytes: 1_000_000,
      maxDocumentBytes: 32_768,
      maxTokens: 2_000,
      maxDepth: 12,
      maxAliases: 30,
      maxDirectives: 50,
      maxNodes: 1_000,
      documentCacheBytes: 16_000_000,
    });
  });

  it('reads each from its variable', () => {
    const limits = loadConfig({
      env: {
        MARKETGRAPH_MAX_BODY_BYTES: '2048',
        MARKETGRAPH_MAX_DOCUMENT_BYTES: '1024',
        MARKETGRAPH_MAX_TOKENS: '100',
        MARKETGRAPH_MAX_DEPTH: '5',
        MARKETGRAPH_MAX_ALIASES: '0',
        MARKETGRAPH_MAX_DIRECTIVES: '3',
        MARKETGRAPH_MAX_NODES: '200',
        MARKETGRAPH_DOCUMENT_CACHE_BYTES: '0',
      },
    }).limits;
    expect(limits).toMatchObject({
      maxBodyBytes: 2048,
      maxDocumentBytes: 1024,
      maxTokens: 100,
      maxDepth: 5,
      maxAliases: 0,
      maxDirectives: 3,
      maxNodes: 200,
      documentCacheBytes: 0,
    });
  });

  it.each([
    // Beyond 20,000 tokens, recursion downstream of the parser could exhaust the stack.
    ['MARKETGRAPH_MAX_TOKENS', '50000', 'from 10 to 20000'],
    ['MARKETGRAPH_MAX_DEPTH', '0', 'from 1 to 50'],
    ['MARKETGRAPH_MAX_BODY_BYTES', '1mb', 'from 1024 to 100000000'],
    ['MARKETGRAPH_MAX_DOCUMENT_BYTES', '10', 'from 256 to 10000000'],
  ])('rejects %s=%s', (name, value, range) => {
    expect(() => loadConfig({ env: { [name]: value } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { [name]: value } })).toThrow(`${name}: must be a whole number ${range}`);
  });
});

describe('loadConfig: cost and the front door', () => {
  it('refuses the old cost setting, whose units were not upstream calls', () => {
    expect(() => loadConfig({ env: { MARKETGRAPH_MAX_COMPLEXITY: '5000' } })).toThrow(/MARKETGRAPH_MAX_COST/);
  });

  it('opens introspection, GraphiQL and localhost CORS in the sandbox profile only', () => {
    expect(loadConfig({ env: {} }).frontDoor).toEqual({
      corsOrigins: [],
      corsLocalhost: true,
      introspection: true,
      graphiql: true,
    });
    expect(loadConfig({ env: { MARKETGRAPH_PROFILE: 'live' } }).frontDoor).toEqual({
      corsOrigins: [],
      corsLocalhost: false,
      introspection: false,
      graphiql: false,
    });
    expect(loadConfig({ env: { MARKETGRAPH_PROFILE: 'live' } }).trustedDocuments.mode).toBe('enforce');
  });

  it('reads an origin list, replacing the localhost default', () => {
    const { frontDoor } = loadConfig({
      env: { MARKETGRAPH_CORS_ORIGINS: 'https://app.example.com, http://localhost:3000' },
    });
    expect(frontDoor.corsOrigins).toEqual(['https://app.example.com', 'http://localhost:3000']);
    expect(frontDoor.corsLocalhost).toBe(false);
    expect(() => loadConfig({ env: { MARKETGRAPH_CORS_ORIGINS: 'https://app.example.com/path' } })).toThrow(
      /MARKETGRAPH_CORS_ORIGINS/,
    );
  });
});
