import type { AnyScenario } from '../scenario.js';
import { cold, coldSerial } from './cold.js';
import { fanout } from './fanout.js';
import { gcFlags } from './gc-flags.js';
import { hot } from './hot.js';
import { idle } from './idle.js';
import { race } from './race.js';
import { sandbox } from './sandbox.js';

// Every scenario `npm run bench` knows, in the order it runs them. Add a scenario: write
// scenarios/<name>.ts exporting a Scenario (HTTP requests autocannon sends) or a StandaloneScenario
// (brings its own load), and list it here.
export const SCENARIOS: readonly AnyScenario[] = [
  hot,
  cold,
  coldSerial,
  fanout,
  sandbox,
  race,
  idle,
  gcFlags,
];
