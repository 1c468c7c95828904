import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { buildSchema } from '../src/schema/index.js';

// Prints the code-first schema to schema/schema.graphql (checked in; test/schema.test.ts fails on drift).
const target = new URL('../schema/schema.graphql', import.meta.url);
writeFileSync(target, `${printSchema(buildSchema())}\n`);
console.log(`wrote ${target.pathname}`);
