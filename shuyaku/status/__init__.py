"""Day two: `shuyaku status` — drift, rules, migration progress, cost now against the goal, operations, history and
the published goal sheet. Reads audit (the live cloud), deploy (the stacks), plan (cost, waves) and report (format,
PDF); only the CLI sits above it."""
