import type { BudgetSnapshot } from './budgets.js';
import type { Identity } from './identify.js';

// What auth knows about one request (or one graphql-ws operation): who is calling, whether its request
// was already charged (the fast path charges it before the response-cache lookup), and the budget left
// after the charge. The context's `clientBudget` is this object.

export interface ClientBudgetView {
  /** The client's budget after this request was charged; undefined before it was (or with auth off). */
  remaining(): BudgetSnapshot | undefined;
}

export class RequestAuth implements ClientBudgetView {
  requestCharged = false;
  /** Operations charged under this record (a batch has several). */
  operations = 0;
  snapshot: BudgetSnapshot | undefined;
  /** Releases the client's subscription slot (set while this operation holds one). */
  releaseSlot: (() => void) | undefined;

  constructor(readonly identity: Identity) {}

  remaining(): BudgetSnapshot | undefined {
    return this.snapshot;
  }
}
