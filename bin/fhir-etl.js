#!/usr/bin/env -S node --max-old-space-size=256
// The fhir-etl command. The sources are TypeScript, run as they are through tsx's loader,
// so `npm install` is the whole installation: there is no build step to forget.
// The heap cap keeps V8 from growing lazily far past what a streaming load needs (peak RSS
// for a 1 GB file: ~280 MB with it, ~500 MB without); to change it, run `node --max-old-space-size=N bin/fhir-etl.js ...`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
