#!/usr/bin/env node
// The wmi-hunter command. Runs the TypeScript sources through tsx's loader, so a fresh clone works
// right after `npm ci` with no build step; the Docker image runs exactly this too.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
