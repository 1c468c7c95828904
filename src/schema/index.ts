import { type GraphQLSchema, lexicographicSortSchema } from 'graphql';
import { createBuilder } from './builder.js';
import { addAsset } from './types/asset.js';
import { addAssetPrice } from './types/asset-price.js';
import { addAssetSearch } from './types/asset-search.js';
import { addCandle } from './types/candle.js';
import { addEnums } from './types/enums.js';
import { addLiveOnChain } from './types/live-onchain.js';
import { addLiveSignal } from './types/live-signal.js';
import { addMarket } from './types/market.js';
import { addOnChainMetric } from './types/on-chain-metric.js';
import { addPrice } from './types/price.js';
import { addPriceHistory } from './types/price-history.js';
import { addSignal } from './types/signal.js';
import { addSource } from './types/source.js';

/** Builds the schema; pure, so tests and the SDL printer get the same one the server serves. */
export function buildSchema(): GraphQLSchema {
  const builder = createBuilder();
  const enums = addEnums(builder);
  const asset = addAsset(builder, enums);
  addAssetSearch(builder, asset);
  addPriceHistory(builder, enums, asset);
  const { Price } = addPrice(builder, enums, asset);
  addAssetPrice(builder, enums, asset, Price);
  addMarket(builder, enums, asset);
  addCandle(builder, enums, asset);
  addLiveSignal(builder, enums, addSignal(builder, enums, asset));
  addLiveOnChain(builder, addOnChainMetric(builder, enums, asset));
  addSource(builder);
  return lexicographicSortSchema(builder.toSchema());
}
