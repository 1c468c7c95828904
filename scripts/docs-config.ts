import { readFileSync, writeFileSync } from 'node:fs';
import { withSettingsTable } from '../src/config/docs.js';

// Writes README's configuration table from src/config/settings.ts, between its marker comments
// (test/config-docs.test.ts fails when README's table differs from the generated one).
const target = new URL('../README.md', import.meta.url);
writeFileSync(target, withSettingsTable(readFileSync(target, 'utf8')));
console.log(`wrote the settings table in ${target.pathname}`);
