// `node --import ./register.mjs ...`: records every module the process imports (its resolved
// URL, one a line) in the file $FHIR_ETL_MODULE_LOG, so a test can see what a command loaded.
import { register } from 'node:module';

register('./hooks.mjs', import.meta.url);
