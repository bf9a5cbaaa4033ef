"""Job records and messages: state machine, stored spec and manifests, key layout, chunk plan."""
