#!/usr/bin/env node
// The fhir-etl command. The sources are TypeScript, run as they are through tsx's loader,
// so `npm install` is the whole installation: there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
