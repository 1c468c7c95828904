/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query AssetDetail($id: ID!, $from: DateTime, $interval: CandleInterval!) {\n  asset(by: {id: $id}) {\n    id\n    symbol\n    name\n    rank\n    contracts {\n      chain\n      address\n    }\n    market(currency: USD) {\n      price\n      marketCap\n      volume24h\n      change24h\n      high24h\n      low24h\n      circulatingSupply\n      asOf\n      source\n      stale\n    }\n    candles(interval: $interval, from: $from) {\n      edges {\n        node {\n          openTime\n          closeTime\n          open\n          high\n          low\n          close\n          volume\n          source\n        }\n      }\n      gaps {\n        from\n        to\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n    signals {\n      kind\n      direction\n      strength\n      rationale\n      generatedAt\n      source\n    }\n  }\n}": typeof types.AssetDetailDocument,
    "query TopAssets($first: Int!, $currency: Currency!) {\n  assets(first: $first) {\n    edges {\n      node {\n        id\n        symbol\n        price(currency: $currency) {\n          value\n          currency\n          asOf\n          source\n        }\n      }\n    }\n  }\n}": typeof types.TopAssetsDocument,
};
const documents: Documents = {
    "query AssetDetail($id: ID!, $from: DateTime, $interval: CandleInterval!) {\n  asset(by: {id: $id}) {\n    id\n    symbol\n    name\n    rank\n    contracts {\n      chain\n      address\n    }\n    market(currency: USD) {\n      price\n      marketCap\n      volume24h\n      change24h\n      high24h\n      low24h\n      circulatingSupply\n      asOf\n      source\n      stale\n    }\n    candles(interval: $interval, from: $from) {\n      edges {\n        node {\n          openTime\n          closeTime\n          open\n          high\n          low\n          close\n          volume\n          source\n        }\n      }\n      gaps {\n        from\n        to\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n    signals {\n      kind\n      direction\n      strength\n      rationale\n      generatedAt\n      source\n    }\n  }\n}": types.AssetDetailDocument,
    "query TopAssets($first: Int!, $currency: Currency!) {\n  assets(first: $first) {\n    edges {\n      node {\n        id\n        symbol\n        price(currency: $currency) {\n          value\n          currency\n          asOf\n          source\n        }\n      }\n    }\n  }\n}": types.TopAssetsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query AssetDetail($id: ID!, $from: DateTime, $interval: CandleInterval!) {\n  asset(by: {id: $id}) {\n    id\n    symbol\n    name\n    rank\n    contracts {\n      chain\n      address\n    }\n    market(currency: USD) {\n      price\n      marketCap\n      volume24h\n      change24h\n      high24h\n      low24h\n      circulatingSupply\n      asOf\n      source\n      stale\n    }\n    candles(interval: $interval, from: $from) {\n      edges {\n        node {\n          openTime\n          closeTime\n          open\n          high\n          low\n          close\n          volume\n          source\n        }\n      }\n      gaps {\n        from\n        to\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n    signals {\n      kind\n      direction\n      strength\n      rationale\n      generatedAt\n      source\n    }\n  }\n}"): (typeof documents)["query AssetDetail($id: ID!, $from: DateTime, $interval: CandleInterval!) {\n  asset(by: {id: $id}) {\n    id\n    symbol\n    name\n    rank\n    contracts {\n      chain\n      address\n    }\n    market(currency: USD) {\n      price\n      marketCap\n      volume24h\n      change24h\n      high24h\n      low24h\n      circulatingSupply\n      asOf\n      source\n      stale\n    }\n    candles(interval: $interval, from: $from) {\n      edges {\n        node {\n          openTime\n          closeTime\n          open\n          high\n          low\n          close\n          volume\n          source\n        }\n      }\n      gaps {\n        from\n        to\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n    signals {\n      kind\n      direction\n      strength\n      rationale\n      generatedAt\n      source\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query TopAssets($first: Int!, $currency: Currency!) {\n  assets(first: $first) {\n    edges {\n      node {\n        id\n        symbol\n        price(currency: $currency) {\n          value\n          currency\n          asOf\n          source\n        }\n      }\n    }\n  }\n}"): (typeof documents)["query TopAssets($first: Int!, $currency: Currency!) {\n  assets(first: $first) {\n    edges {\n      node {\n        id\n        symbol\n        price(currency: $currency) {\n          value\n          currency\n          asOf\n          source\n        }\n      }\n    }\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;