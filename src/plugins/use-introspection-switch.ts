import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

// MARKETGRAPH_INTROSPECTION=false: __schema and __type are refused at validation (graphql-js's own
// rule, GRAPHQL_VALIDATION_FAILED); __typename stays, clients need it.

export function useIntrospectionSwitch({ enabled }: { enabled: boolean }): Plugin {
  if (enabled) return {};
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}
