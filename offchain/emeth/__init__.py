"""EMETH L2: the off-chain compute marketplace (execution layer, programs, agents, billing)."""
