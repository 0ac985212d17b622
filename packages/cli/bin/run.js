#!/usr/bin/env node
import { execute } from '@oclif/core';
// Before oclif reads the command manifest: a manifest older than the compiled commands is dropped (see there).
import './manifest-guard.js';

await execute({ dir: import.meta.url });
