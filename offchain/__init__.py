"""l2kit: an Ethereum-native Layer-2 toolkit (rollup with a decentralized sequencer, EMETH marketplace)."""

__version__ = "0.1.0"
