import { type GraphQLSchema, lexicographicSortSchema } from 'graphql';
import { createBuilder } from './builder.js';
import { addAsset } from './types/asset.js';
import { addCandle } from './types/candle.js';
import { addEnums } from './types/enums.js';
import { addMarket } from './types/market.js';
import { addOnChainMetric } from './types/on-chain-metric.js';
import { addPrice } from './types/price.js';
import { addSignal } from './types/signal.js';
import { addSource } from './types/source.js';

/** Builds the schema; pure, so tests and the SDL printer get the same one the server serves. */
export function buildSchema(): GraphQLSchema {
  const builder = createBuilder();
  const enums = addEnums(builder);
  const asset = addAsset(builder, enums);
  addPrice(builder, enums, asset);
  addMarket(builder, enums, asset);
  addCandle(builder, enums, asset);
  addSignal(builder, enums, asset);
  addOnChainMetric(builder, enums, asset);
  addSource(builder);
  return lexicographicSortSchema(builder.toSchema());
}
