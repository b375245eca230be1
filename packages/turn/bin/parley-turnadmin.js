#!/usr/bin/env node
// Committed so package managers can link the command before dist/ is built (no "Failed to create bin").
import "../dist/cli/turnadmin.js";
