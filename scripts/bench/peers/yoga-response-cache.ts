import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useResponseCache } from '@graphql-yoga/plugin-response-cache';
import { createSchema, createYoga } from 'graphql-yoga';

// The race's peer: a stock graphql-yoga 5 with @graphql-yoga/plugin-response-cache, serving the race's
// document over the same sandbox. What a team would write in an afternoon: one resolver that calls
// the CoinGecko markets page and maps its rows, and the response cache with the gateway's price TTL,
// shared by every caller. Run as its own process by scenarios/race.ts with COINGECKO_URL (the
// sandbox's CoinGecko base URL) and TTL_MS; prints {"url":"http://127.0.0.1:PORT/graphql"}.

interface MarketRow {
  id: string;
  symbol: string;
  current_price: number | null;
  last_updated: string | null;
}

const coingecko = required('COINGECKO_URL');
const ttl = Number(required('TTL_MS'));

const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      assets(first: Int! = 20): AssetConnection!
    }
    type AssetConnection {
      edges: [AssetEdge!]!
    }
    type AssetEdge {
      node: Asset!
    }
    type Asset {
      id: ID!
      symbol: String!
      price: Price
    }
    type Price {
      value: Float!
      asOf: String!
    }
  `,
  resolvers: {
    Query: {
      async assets(_parent: unknown, { first }: { first: number }) {
        const query = new URLSearchParams({
          vs_currency: 'usd',
          order: 'market_cap_desc',
          per_page: String(first),
          page: '1',
        });
        const response = await fetch(`${coingecko}/coins/markets?${query}`);
        if (!response.ok) throw new Error(`coins/markets answered ${response.status}`);
        const rows = (await response.json()) as MarketRow[];
        return {
          edges: rows.map((row) => ({
            node: {
              id: row.id,
              symbol: row.symbol.toUpperCase(),
              price:
                row.current_price === null || row.last_updated === null
                  ? null
                  : { value: row.current_price, asOf: row.last_updated },
            },
          })),
        };
      },
    },
  },
});

const yoga = createYoga({
  schema,
  graphiql: false,
  logging: 'error',
  plugins: [useResponseCache({ session: () => null, ttl })],
});

const server = createServer(yoga);
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/graphql` })}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`yoga peer: ${name} is not set`);
  return value;
}
