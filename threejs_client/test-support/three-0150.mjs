// `node --import ./test-support/three-0150.mjs ...`: run with `three` resolved to three 0.150.0.
import { register } from 'node:module';

register('./three-0150-hooks.mjs', import.meta.url);
