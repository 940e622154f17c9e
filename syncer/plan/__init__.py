"""Pure planning: desired state + Cloud state -> an ordered, guarded Plan. No I/O, no clock."""
