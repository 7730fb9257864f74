"""EMETH agents: long-lived daemons driving the execution layer and L1."""
