#!/usr/bin/env node
// The only module with side effects: runs the program and sets the exit code.
import { runCli } from './cli.js';
import { createDefaultDeps } from './default-deps.js';

process.exitCode = await runCli(process.argv.slice(2), createDefaultDeps());
