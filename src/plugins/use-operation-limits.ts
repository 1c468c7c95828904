import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { GraphQLArmorCallbackConfiguration } from '@escape.tech/graphql-armor-types';
import { GraphQLError, type ValidationContext, type ValidationRule, validate } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { LimitCode } from '../errors.js';
import { inputLimitsRule } from '../limits/input-values.js';
import { shortenError } from '../limits/short-error.js';

// The shape of an operation, checked before graphql-js's own validation runs: depth, aliases and
// directives (GraphQL Armor's rules, each answered with its own code), literal argument values
// against their limits, and operation types the schema has. A document refused here is never
// validated further, so its cost stays that of one cheap pass. Every validation error leaves shortened.

export interface OperationLimitOptions {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
}

export function useOperationLimits({ maxDepth, maxAliases, maxDirectives }: OperationLimitOptions): Plugin {
  const rules: ValidationRule[] = [
    knownOperationTypesRule,
    armored(maxDepthRule, maxDepth, 'DEPTH_LIMIT_EXCEEDED'),
    armored(maxAliasesRule, maxAliases, 'ALIAS_LIMIT_EXCEEDED'),
    armored(maxDirectivesRule, maxDirectives, 'DIRECTIVE_LIMIT_EXCEEDED'),
    inputLimitsRule,
  ];
  return {
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn((schema, document, specified, typeInfo, options) => {
        const refused = validate(schema, document, rules, { maxErrors: 10 });
        const errors =
          refused.length > 0 ? refused : validateFn(schema, document, specified, typeInfo, options);
        return errors.map((error: GraphQLError) => shortenError(withValidationCode(error)));
      });
    },
  };
}

/** What Yoga adds over HTTP, added here so that every transport sees it. */
function withValidationCode(error: GraphQLError): GraphQLError {
  if (error.extensions.code) return error;
  (error.extensions as Record<string, unknown>).code = 'GRAPHQL_VALIDATION_FAILED';
  return error;
}

type ArmorRule = (
  options: { n: number } & GraphQLArmorCallbackConfiguration,
) => (context: ValidationContext) => object;

/** An Armor rule that reports a coded error instead of throwing its uncoded "Syntax Error: ...". */
function armored(rule: ArmorRule, n: number, code: LimitCode): ValidationRule {
  return (context) =>
    rule({
      n,
      propagateOnRejection: false,
      onReject: [
        (_context, error) =>
          context.reportError(
            new GraphQLError(error.message.replace(/^Syntax Error: /, ''), {
              extensions: { code, limit: n },
            }),
          ),
      ],
    })(context) as ReturnType<ValidationRule>;
}

/** graphql-js 16 leaves `mutation` on a schema without mutations to execution, which throws uncoded. */
const knownOperationTypesRule: ValidationRule = (context) => ({
  OperationDefinition(node) {
    const schema = context.getSchema();
    const root =
      node.operation === 'query'
        ? schema.getQueryType()
        : node.operation === 'mutation'
          ? schema.getMutationType()
          : schema.getSubscriptionType();
    if (!root) {
      context.reportError(
        new GraphQLError(`this API has no ${node.operation} operations`, {
          nodes: [node],
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
      );
    }
    return false;
  },
});
