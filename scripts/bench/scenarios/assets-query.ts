// The 50-asset query both price scenarios send: one page of the ranking with a full Price each.
export const ASSETS_50 = `{
  assets(first: 50) {
    edges { node { id symbol price { value change24h asOf source stale } } }
  }
}`;
