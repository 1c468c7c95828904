import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the tests: every operation under test/operations/ becomes a TypedDocumentNode,
// so a test that reads a field the schema lost fails to typecheck.
const config: CodegenConfig = {
  importExtension: '.js',
  schema: 'schema/schema.graphql',
  documents: ['test/operations/**/*.graphql'],
  generates: {
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { useTypeImports: true, scalars: { DateTime: 'string' }, enumsAsTypes: true, importExtension: '.js' },
    },
  },
};
export default config;
